// Runs a command with a fresh kassa-server, passing it KASSA_TEST_API, KASSA_TEST_PK and
// KASSA_TEST_SK: `node tests/support/with-server.mjs -- <command> [args…]`.
import { spawn } from 'node:child_process';
import { startServer } from './server.mjs';

const command = process.argv.slice(process.argv.indexOf('--') + 1);
const server = await startServer();
const child = spawn(command[0], command.slice(1), {
  stdio: 'inherit',
  env: { ...process.env, KASSA_TEST_API: server.url, KASSA_TEST_PK: server.merchant.publishableKey, KASSA_TEST_SK: server.merchant.secretKey },
});
const code = await new Promise((resolve) => child.on('exit', (status) => resolve(status ?? 1)));
await server.stop();
process.exit(code);
