// Starts a kassa-server on a free loopback port with a fresh database, for one test file.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.KASSA_SERVER_BIN ?? join(root, 'target', 'debug', 'kassa-server');

/** `merchantArgs` go to `merchant create` (e.g. `--processor stripe …`), `serveArgs` to `serve`. */
export async function startServer({ merchantArgs = [], serveArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kassa-test-'));
  const database = `sqlite://${join(dir, 'kassa.db')}`;
  const merchant = JSON.parse(
    execFileSync(binary, ['merchant', 'create', '--name', 'Browser Test Shop', '--database', database, ...merchantArgs], { encoding: 'utf8' }),
  );
  const child = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--database', database, '--checkout-dir', join(root, 'checkout-app', 'dist'), '--www-dir', join(root, 'www'), '--sdk-dir', join(root, 'js'), '--demo',
      // The browser tests pay faster than shoppers do, all from this machine.
      '--card-attempt-rate-limit', '20', ...serveArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr.resume();
  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const found = line.match(/^Kassa is listening on (http:\/\/\S+)$/);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`kassa-server exited with ${code}`)));
  });
  return {
    url,
    merchant,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
