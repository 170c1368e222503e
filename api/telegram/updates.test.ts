import { describe, expect, it } from 'vitest';
import type { Update } from 'grammy/types';
import { cleanText, routeUpdate } from './updates.ts';
import { TokenBucket } from './rate-limit.ts';
import { emptyPollBackoffMs, errorBackoffMs } from './poller.ts';

const from = { id: 42, is_bot: false, first_name: 'Ann', language_code: 'de' };
const chat = { id: 42, type: 'private' as const, first_name: 'Ann' };

describe('cleanText', () => {
  it('replaces NUL, other controls, lone surrogates and noncharacters, and keeps tabs, newlines and emoji', () => {
    expect(cleanText('a\u0000b\u0007c\td\ne\uFFFFf\uD800g😀')).toBe('a\uFFFDb\uFFFDc\td\ne\uFFFDf\uFFFDg😀');
    expect(cleanText('x\uDC00')).toBe('x\uFFFD');
  });

  it('cuts to the limit without splitting a surrogate pair', () => {
    expect(cleanText('ab😀', 3)).toBe('ab');
    expect(cleanText('abcdef', 4)).toBe('abcd');
  });
});

describe('routeUpdate', () => {
  it('takes a text with the update_id as message id and the sender and chat facts', () => {
    const routed = routeUpdate({ update_id: 7, message: { message_id: 1, date: 100, chat, from, text: '/start ref\u0000' } } as Update);
    expect(routed).toEqual({
      kind: 'message',
      chatId: '42',
      userId: '42',
      message: { id: '7', date: 100, text: '/start ref\uFFFD', from: { id: '42', first_name: 'Ann', language_code: 'de' }, chat: { id: '42', type: 'private' } },
    });
  });

  it('turns a callback query into a button message to acknowledge', () => {
    const routed = routeUpdate({ update_id: 8, callback_query: { id: 'cb1', from, chat_instance: 'x', data: 'tea', message: { message_id: 3, date: 1, chat } } } as Update);
    expect(routed).toMatchObject({ kind: 'message', chatId: '42', callbackQueryId: 'cb1', message: { id: '8', kind: 'button', buttonId: 'tea', value: 'tea' } });
  });

  it('takes photos, contacts and locations, and skips what sessions do not take', () => {
    const photo = routeUpdate({ update_id: 9, message: { message_id: 4, date: 1, chat, from, caption: 'look', photo: [{ file_id: 's', file_unique_id: 'su', width: 1, height: 1 }, { file_id: 'l', file_unique_id: 'lu', width: 9, height: 9 }] } } as Update);
    expect(photo).toMatchObject({ kind: 'message', message: { kind: 'media', text: 'look', media: { kind: 'photo', file_id: 'l', caption: 'look' } } });
    expect(routeUpdate({ update_id: 10, message: { message_id: 5, date: 1, chat, from, contact: { phone_number: '+1', first_name: 'Bo', user_id: 5 } } } as Update)).toMatchObject({ message: { kind: 'contact', contact: { phone_number: '+1', first_name: 'Bo', user_id: '5' } } });
    expect(routeUpdate({ update_id: 11, message: { message_id: 6, date: 1, chat, from, location: { latitude: 1.5, longitude: 2.5 } } } as Update)).toMatchObject({ message: { kind: 'location', location: { latitude: 1.5, longitude: 2.5 } } });
    expect(routeUpdate({ update_id: 12, edited_message: { message_id: 1, date: 1, edit_date: 2, chat, from, text: 'x' } } as Update)).toMatchObject({ kind: 'skip' });
  });
});

describe('group events', () => {
  const group = { id: -100, type: 'supergroup' as const, title: 'Chess club' };
  const bob = { id: 7, is_bot: false, first_name: 'Bob', username: 'bobby' };
  const me = { id: 99, is_bot: true, first_name: 'Doorman', username: 'doorman_bot' };
  const change = (kind: 'chat_member' | 'my_chat_member', user: typeof bob, old: string, now: string, chatOf: object = group) =>
    ({ update_id: 20, [kind]: { chat: chatOf, from, date: 5, old_chat_member: { user, status: old }, new_chat_member: { user, status: now } } }) as unknown as Update;

  it('turns chat_member joins and leaves into member_joined / member_left with the member, and who did it as the sender', () => {
    expect(routeUpdate(change('chat_member', bob, 'left', 'member'))).toEqual({
      kind: 'message',
      chatId: '-100',
      userId: '42',
      message: { id: '20', kind: 'event', event: 'member_joined', member: { id: '7', first_name: 'Bob', username: 'bobby' }, date: 5, from: { id: '42', first_name: 'Ann', language_code: 'de' }, chat: { id: '-100', type: 'supergroup', title: 'Chess club' } },
    });
    expect(routeUpdate(change('chat_member', bob, 'member', 'kicked'))).toMatchObject({ message: { event: 'member_left', member: { id: '7' } } });
    expect(routeUpdate(change('chat_member', bob, 'administrator', 'left'))).toMatchObject({ message: { event: 'member_left' } });
  });

  it('turns my_chat_member in a group into bot_added / bot_removed', () => {
    expect(routeUpdate(change('my_chat_member', me, 'left', 'administrator'))).toMatchObject({ kind: 'message', message: { kind: 'event', event: 'bot_added', member: { id: '99', is_bot: true } } });
    expect(routeUpdate(change('my_chat_member', me, 'member', 'kicked'))).toMatchObject({ kind: 'message', message: { event: 'bot_removed' } });
  });

  it('skips status changes that are not a join or leave, and a private chat blocking the bot', () => {
    expect(routeUpdate(change('chat_member', bob, 'member', 'administrator'))).toMatchObject({ kind: 'skip' });
    expect(routeUpdate(change('my_chat_member', me, 'member', 'kicked', chat))).toMatchObject({ kind: 'skip', reason: expect.stringContaining('private') });
  });

  it('skips the service messages that come with them (one change, one event)', () => {
    expect(routeUpdate({ update_id: 21, message: { message_id: 9, date: 1, chat: group, from, new_chat_members: [bob] } } as Update)).toMatchObject({ kind: 'skip' });
  });
});

describe('inbound limits and backoff', () => {
  it('a token bucket gives the burst, then the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 3, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.waitMs()).toBe(500);
    now = 500;
    expect(bucket.tryTake()).toBe(true);
  });

  it('empty answers that return at once back off up to 2 s, errors up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(emptyPollBackoffMs)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    expect([1, 2, 6, 10].map(errorBackoffMs)).toEqual([1000, 2000, 30_000, 30_000]);
  });
});
