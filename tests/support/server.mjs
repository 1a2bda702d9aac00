// Starts a kassa-server on a free loopback port with a fresh database, for one test file.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binary = process.env.KASSA_SERVER_BIN ?? join(root, 'target', 'debug', 'kassa-server');
const shopBinary = process.env.KASSA_SHOP_BIN ?? join(root, 'target', 'debug', 'kassa-shop');

/** Spawns `command` and resolves with the first match of `pattern` on its standard output. */
function listening(child, pattern, name) {
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const found = line.match(pattern);
      if (found) resolve(found[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    // A binary that is not built yet never starts, and would never print its address either.
    child.once('error', (error) => reject(new Error(`${name} did not start (${error.message}): build it with \`cargo build -p ${name}\``)));
  });
}

/**
 * `merchantArgs` go to `merchant create` (e.g. `--processor stripe …`), `serveArgs` to `serve`.
 * With `shop`, the demo shop runs too, as that merchant's backend, at `shopUrl`: on
 * `localhost`, another origin than Kassa's `127.0.0.1`, as a real shop is.
 */
export async function startServer({ merchantArgs = [], serveArgs = [], shop = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kassa-test-'));
  const database = `sqlite://${join(dir, 'kassa.db')}`;
  const merchant = JSON.parse(
    execFileSync(binary, ['merchant', 'create', '--name', 'Browser Test Shop', '--database', database, ...merchantArgs], { encoding: 'utf8' }),
  );
  const child = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--database', database, '--checkout-dir', join(root, 'checkout-app', 'dist'), '--console-dir', join(root, 'console-app', 'dist'), '--sdk-dir', join(root, 'js'), '--webhooks-allow-loopback',
      // The browser tests pay, and the console's staff sign in, faster than people do, all from
      // this machine.
      '--card-attempt-rate-limit', '20', '--sign-in-rate-limit', '60', ...serveArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (process.env.KASSA_SERVER_LOG) {
    // For a failure's cause: what the server logged, appended to this file.
    const log = createWriteStream(process.env.KASSA_SERVER_LOG, { flags: 'a' });
    child.stdout.on('data', (chunk) => log.write(chunk));
    child.stderr.on('data', (chunk) => log.write(chunk));
  }
  const url = await listening(child, /^Kassa is listening on (http:\/\/\S+)$/, 'kassa-server');
  let shopChild;
  let shopUrl;
  if (shop) {
    shopChild = spawn(
      shopBinary,
      ['--listen', '127.0.0.1:0', '--kassa-url', url, '--database', `sqlite://${join(dir, 'shop.db')}`, '--www-dir', join(root, 'www', 'pages'), '--sdk-dir', join(root, 'js')],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KASSA_SECRET_KEY: merchant.secretKey } },
    );
    const address = await listening(shopChild, /^The demo shop is listening on (http:\/\/\S+)$/, 'kassa-shop');
    shopUrl = address.replace('127.0.0.1', 'localhost');
  }
  return {
    url,
    shopUrl,
    merchant,
    /** `kassa-server user create`: a console user of the merchant, and their setup link. */
    user(email, role) {
      return JSON.parse(
        execFileSync(binary, ['user', 'create', '--merchant', merchant.merchantId, '--email', email, '--role', role, '--database', database], { encoding: 'utf8' }),
      );
    },
    async stop() {
      if (shopChild && shopChild.exitCode === null) {
        shopChild.kill('SIGTERM');
        await new Promise((resolve) => (shopChild.exitCode !== null ? resolve() : shopChild.once('exit', resolve)));
      }
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
