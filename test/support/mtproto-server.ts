// The MTProto test server of the Telegram account tests (test/support/mtproto/main.go, Go,
// on gotd/td's tgtest): started per test file on loopback, built by
// `node bin/toolchain.mjs mtproto` (.ci/run does it first; cached under .tools/mtproto by
// the hash of its go.sum and source). GramJS talks to it over real MTProto — key
// exchange, encrypted session, TL layer 198 — through the product's own client
// (lib/telegram-account-gramjs.ts, gramAccountClientsFor) with the server's RSA key.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
// @ts-expect-error plain JavaScript module without types
import { ensureMtprotoServer } from '../../bin/toolchain.mjs';
import type { MtprotoServer } from '../../lib/telegram-account-gramjs.ts';

export interface MtprotoUser {
  id: number;
  firstName?: string;
  lastName?: string;
  username?: string;
  langCode?: string;
}

export interface MtprotoEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
}

/** One call that reached a chat, as the server decoded it from the client's TL. */
export interface MtprotoSent {
  method: 'sendMessage' | 'sendMedia' | 'editMessage' | 'setTyping';
  peer: string;
  id?: number;
  text?: string;
  replyTo?: number;
  entities?: MtprotoEntity[];
  media?: string;
  url?: string;
  noPreview?: boolean;
}

export interface MtprotoTestServer {
  server: MtprotoServer;
  /** The one account: its phone, the login code Telegram "sends", a 2FA password ('' for none). */
  account(a: { phone: string; code: string; password?: string; me: MtprotoUser }): Promise<void>;
  /** The next call of this method (auth.sendCode, messages.sendMessage…) answers FLOOD_WAIT_{seconds}. */
  flood(method: string, seconds: number): Promise<void>;
  /** Telegram delivers a message to the signed-in account (its connected clients); returns its id and how many clients got it. */
  incoming(m: { from: MtprotoUser; text: string; replyTo?: number; group?: number; groupTitle?: string; edit?: number }): Promise<{ id: number; delivered: number }>;
  state(): Promise<{ sent: MtprotoSent[]; authorized: number; sendCodes: number; logOuts: number }>;
  close(): Promise<void>;
}

export async function startMtprotoServer(): Promise<MtprotoTestServer> {
  const bin = ensureMtprotoServer() as string;
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`the MTProto test server exited (${code}): ${stderr}`)));
  });
  const info = JSON.parse(first) as { port: number; control: number; dc: number; publicKey: string };
  const control = `http://127.0.0.1:${info.control}`;
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const res = await fetch(`${control}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    if (!res.ok) throw new Error(`MTProto test server ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  return {
    server: { dcId: info.dc, host: '127.0.0.1', port: info.port, publicKey: info.publicKey },
    account: async (a) => void (await call('POST', '/account', a)),
    flood: async (method, seconds) => void (await call('POST', '/flood', { method, seconds })),
    incoming: async (m) => (await call('POST', '/incoming', m)) as { id: number; delivered: number },
    state: async () => (await call('GET', '/state')) as Awaited<ReturnType<MtprotoTestServer['state']>>,
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}
