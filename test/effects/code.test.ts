import { afterAll, describe, expect, it } from 'vitest';
import { createCodeActivities } from '../../activities/code.ts';
import { createCodeSandbox } from '../../activities/code-sandbox.ts';
import { codeConfig, effectInput } from './support/fixtures.ts';
import { captureLogger } from './support/servers.ts';

const sandbox = createCodeSandbox({ poolSize: 2 });
const { runCode } = createCodeActivities({ logger: captureLogger().logger, sandbox });

afterAll(async () => {
  await sandbox.close();
});

const run = (source: string, options: { timeoutMs?: number; memoryMb?: number; variable?: string } = {}, scope = {}) => runCode(effectInput(codeConfig({ source, ...options }), scope));

describe('code node: results', () => {
  it('passes message and variables, and writes the returned variables', async () => {
    const source = `function main(message, variables) {
  console.log('text is', message.text, { n: variables.session.count });
  return { 'session.length': message.text.length, 'session.count': variables.session.count + 1, 'user.tier': variables.user.tier ?? 'basic' };
}`;
    const result = await run(source, {}, { message: { text: 'hello' }, session: { count: 2 } });
    expect(result).toEqual({
      ok: true,
      set: [
        { variable: 'session.length', value: 5 },
        { variable: 'session.count', value: 3 },
        { variable: 'user.tier', value: 'basic' },
      ],
      event: { console: ['text is hello {"n":2}'], ms: expect.any(Number) },
    });
  });

  it('saves the whole result into "Save result to" when it is set', async () => {
    const result = await run('function main(m) { return [m.text.toUpperCase(), 2] }', { variable: 'session.result' }, { message: { text: 'hi' } });
    expect(result).toMatchObject({ ok: true, set: [{ variable: 'session.result', value: ['HI', 2] }] });
  });

  it('accepts async and arrow-function mains, and a main returning nothing', async () => {
    expect(await run('async function main() { const x = await Promise.resolve(4); return { "session.x": x } }')).toMatchObject({ ok: true, set: [{ variable: 'session.x', value: 4 }] });
    expect(await run('const main = (m) => ({ "session.t": m.text })', {}, { message: { text: 'a' } })).toMatchObject({ ok: true, set: [{ variable: 'session.t', value: 'a' }] });
    expect(await run('function main() {}')).toMatchObject({ ok: true, set: [] });
  });

  it('refuses writes outside writable scopes and results that are not write objects', async () => {
    expect(await run('function main() { return { "message.text": "x" } }')).toMatchObject({ ok: false, error: { code: 'code_invalid_result', message: expect.stringContaining('read-only') } });
    expect(await run('function main() { return { "secrets.key": "x" } }')).toMatchObject({ ok: false, error: { code: 'code_invalid_result' } });
    expect(await run('function main() { return { total: 3 } }')).toMatchObject({ ok: false, error: { code: 'code_invalid_result', message: expect.stringContaining("'total'") } });
    expect(await run('function main() { return 42 }')).toMatchObject({ ok: false, error: { code: 'code_invalid_result', message: expect.stringContaining('Save result to') } });
    expect(await run('function main() { const o = {}; o.self = o; return o }', { variable: 'session.r' })).toMatchObject({ ok: false, error: { code: 'code_invalid_result', message: expect.stringContaining('circular') } });
  });

  it('caps the size of the result', async () => {
    expect(await run('function main() { return "x".repeat(70 * 1024) }', { variable: 'session.r' })).toMatchObject({ ok: false, error: { code: 'code_output_too_large' } });
  });

  it('keeps a bounded console', async () => {
    const result = await run('function main() { for (let i = 0; i < 500; i++) console.log("line " + i) }');
    expect(result.ok).toBe(true);
    const lines = result.ok ? ((result.event?.console ?? []) as string[]) : [];
    expect(lines.length).toBe(51);
    expect(lines[0]).toBe('line 0');
    expect(lines.at(-1)).toMatch(/450 more console line\(s\) not kept/);
  });
});

describe('code node: errors and limits', () => {
  it('reports exceptions and syntax errors with their line', async () => {
    expect(await run('function main(message) {\n  const x = undefined;\n  return x.field;\n}')).toEqual({ ok: false, error: { code: 'code_error', message: "TypeError: cannot read property 'field' of undefined (line 3)" }, set: [] });
    expect(await run('function main() {\n  return 1 +;\n}')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringMatching(/^SyntaxError: .* \(line 2\)$/) } });
    expect(await run('function main() {\n\n  throw new RangeError("too big");\n}')).toMatchObject({ ok: false, error: { code: 'code_error', message: 'RangeError: too big (line 3)' } });
    expect(await run('function helper() {}')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining('does not define a function main') } });
    expect(await run('function f() { return f() } function main() { return f() }')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining('stack overflow') } });
  });

  it('has no host objects and no I/O', async () => {
    const source = `function main() {
  return { 'session.kinds': [typeof fetch, typeof require, typeof process, typeof setTimeout, typeof XMLHttpRequest, typeof WebAssembly, typeof globalThis.std, typeof globalThis.os, typeof import.meta] };
}`;
    const result = await run(source);
    // `import.meta` is a syntax error in a script, so check the rest separately.
    expect(result).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining('SyntaxError') } });
    const plain = await run(source.replace(', typeof import.meta', ''));
    expect(plain).toMatchObject({ ok: true, set: [{ variable: 'session.kinds', value: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'] }] });
    expect(await run('function main() { return fetch("http://127.0.0.1/") }')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining("'fetch' is not defined") } });
    expect(await run('function main() { return require("fs") }')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining("'require' is not defined") } });
    expect(await run('function main() { return process.env }')).toMatchObject({ ok: false, error: { code: 'code_error', message: expect.stringContaining("'process' is not defined") } });
  });

  it('stops a memory bomb', async () => {
    expect(await run('function main() { const chunks = []; while (true) chunks.push(new Array(100000)) }', { memoryMb: 8, timeoutMs: 10_000 })).toMatchObject({ ok: false, error: { code: 'code_memory', message: expect.stringContaining('8 MB') } });
  });

  it('stops a catastrophic regular expression at the time limit', async () => {
    expect(await run('function main() { return /(a+)+$/.test("a".repeat(40) + "b") }', { timeoutMs: 300, variable: 'session.r' })).toMatchObject({ ok: false, error: { code: 'code_timeout' } });
  });

  it('stops a runaway loop while other runs and the event loop keep going', async () => {
    const order: string[] = [];
    const runaway = run('function main() { while (true) {} }', { timeoutMs: 1500 }).then((result) => {
      order.push('runaway');
      return result;
    });
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => order.push('timer'));
    // Another chain's run: runs of one chain share at most half the pool (robustness row 7).
    const quick = runCode({ ...effectInput(codeConfig({ source: 'function main(m) { return { "session.n": m.n * 2 } }' }), { message: { n: 21 } }), chainId: 'chain-2' }).then((result) => {
      order.push('quick');
      return result;
    });
    const [runawayResult, , quickResult] = await Promise.all([runaway, timer, quick]);
    expect(runawayResult).toEqual({ ok: false, error: { code: 'code_timeout', message: 'The code ran longer than its limit of 1500 ms' }, set: [] });
    expect(quickResult).toMatchObject({ ok: true, set: [{ variable: 'session.n', value: 42 }] });
    expect(order.at(-1)).toBe('runaway');
    expect(order).toContain('timer');
    expect(order).toContain('quick');
    // The pool is healthy afterwards.
    expect(await run('function main() { return { "session.after": true } }')).toMatchObject({ ok: true });
  });

  it('queues runs beyond the pool size instead of failing them', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => run(`function main() { return { "session.i": ${i} } }`)));
    expect(results.map((result) => (result.ok ? result.set[0]?.value : undefined))).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
