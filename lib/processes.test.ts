import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortFree, bindFailure, freePort, onFreePort, PortInUseError } from './processes.ts';

// Issue 21: under load a port picked free was taken before the server bound it, and the
// whole test run failed. The start is retried on fresh ports instead.
const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});
async function holdPort(): Promise<number> {
  const srv = createServer();
  held.push(srv);
  await new Promise<void>((resolve) => srv.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const addr = srv.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}
/** A server start that fails like ours when its port is taken. */
const start = async (port: number) => {
  await assertPortFree(port, 'test server', 'TEST_PORT');
  return port;
};

describe('starting a server on a free port', () => {
  it('recognises bind failures in the logs of Temporal and PostgreSQL', () => {
    expect(bindFailure("Error: can't set frontend HTTP port 39507: listen tcp 127.0.0.1:39507: bind: address already in use")).toEqual({ port: 39507 });
    expect(bindFailure('LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\nFATAL:  could not create any TCP/IP sockets')).toEqual({ port: null });
    expect(bindFailure('FATAL:  password authentication failed for user "chainflow"')).toBeNull();
  });

  it('starts again on another port when the picked one was taken meanwhile', async () => {
    const taken = await holdPort();
    const picks = [taken];
    const port = await onFreePort(start, { pick: async () => picks.shift() ?? freePort() });
    expect(port).not.toBe(taken);
    expect(picks).toEqual([]);
  });

  it('gives up after the attempts and does not retry other errors', async () => {
    const taken = await holdPort();
    let calls = 0;
    await expect(onFreePort(async (p) => (calls++, start(p)), { attempts: 2, pick: async () => taken })).rejects.toBeInstanceOf(PortInUseError);
    expect(calls).toBe(2);
    calls = 0;
    await expect(onFreePort(async () => (calls++, Promise.reject(new Error('initdb failed'))))).rejects.toThrow('initdb failed');
    expect(calls).toBe(1);
  });
});
