import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Bot } from 'grammy';

const CLI = fileURLToPath(new URL('../support/telegram/cli.ts', import.meta.url));

describe('npm run telegram:test-server', () => {
  it('prints its API root and the fixed token, and lets the person at the terminal talk to a bot', async () => {
    const token = '424242:TESTTOKENtesttoken_1234567';
    const child = spawn(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', CLI, '--port', '0', '--token', token, '--name', 'Alice'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const outputs = new Set<() => void>();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      for (const check of outputs) check();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const seen = (re: RegExp): Promise<RegExpMatchArray> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`CLI output never matched ${re}; got:\n${out}`)), 15_000);
        const check = (): void => {
          const m = re.exec(out);
          if (!m) return;
          clearTimeout(timer);
          outputs.delete(check);
          resolve(m);
        };
        outputs.add(check);
        check();
      });
    let bot: Bot | undefined;
    let running: Promise<void> | undefined;
    try {
      const apiRoot = (await seen(/API root {2}(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      expect(out).toContain(`Token     ${token}`);
      bot = new Bot(token, { client: { apiRoot } });
      bot.command('start', (ctx) => ctx.reply(`Welcome, ${ctx.from?.first_name} (${ctx.match})`, { reply_markup: { inline_keyboard: [[{ text: 'Go', callback_data: 'go' }]] } }));
      bot.callbackQuery('go', (ctx) => ctx.answerCallbackQuery({ text: 'Going' }));
      running = bot.start({ timeout: 30 });
      child.stdin.write('/start from-terminal\n');
      await seen(/chainflow_test_bot: Welcome, Alice \(from-terminal\)\n {2}buttons: \[1\] Go/);
      child.stdin.write(':press 1\n');
      await seen(/\(button answered: Going\)/);
    } finally {
      await bot?.stop();
      await running;
      child.stdin.write(':quit\n');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    expect(child.exitCode).toBe(0);
  });
});
