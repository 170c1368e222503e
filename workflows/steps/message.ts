import { localizeMessage } from '../../chain/runtime.ts';
import type { Session } from '../session.ts';
import type { OutboundButton, OutboundMessage } from '../types.ts';
import type { IrNodeOf, StepResult } from './types.ts';

type MessageNode = IrNodeOf<'message'>;
type Buttons = NonNullable<MessageNode['config']['buttons']>;

/** Renders buttons' texts and links (ids and values are not templates). */
export function renderButtons(session: Session, buttons: Buttons | undefined): OutboundMessage['buttons'] {
  if (!buttons) return undefined;
  const rows: OutboundButton[][] = buttons.rows.map((row) =>
    row.map((b) => ({
      id: b.id,
      text: session.render(b.text),
      ...(b.url !== undefined ? { url: session.render(b.url) } : {}),
      ...(b.value !== undefined ? { value: b.value } : {}),
    })),
  );
  return { kind: buttons.kind, rows, ...(buttons.oneTime !== undefined ? { oneTime: buttons.oneTime } : {}) };
}

/** message: send text, media and buttons (the session's language variant), then 'next'. */
export function messageStep(session: Session, node: MessageNode): StepResult {
  const c = node.config;
  const localized = localizeMessage(c, session.language());
  // Inserted values are escaped for the format, so a name like "Carol <3" cannot break
  // the HTML or MarkdownV2 Telegram parses (the format's help text promises it).
  const escape = c.format === 'plain' ? 'none' : c.format;
  const text = session.render(localized.text, escape);
  const buttons = renderButtons(session, localized.buttons);
  session.reply({
    nodeId: node.id,
    text,
    format: c.format,
    ...(c.media?.length
      ? { media: c.media.map((m) => ({ kind: m.kind, url: session.render(m.url), ...(m.caption ? { caption: session.render(m.caption, escape) } : {}) })) }
      : {}),
    ...(buttons ? { buttons } : {}),
    ...(c.disablePreview ? { disablePreview: true } : {}),
    ...(c.edit ? { edit: true } : {}),
  });
  return { kind: 'port', port: 'next' };
}
