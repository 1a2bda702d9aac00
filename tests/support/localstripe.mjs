// localstripe (PyPI), a Stripe-compatible server, for the browser tests: installed into the same
// virtual environment the Rust tests make (target/localstripe-VERSION) when missing, and started on
// a free port inside stripe_stand_in.py, which adds Stripe's 3-D Secure redirect (a challenge page
// that sends the cardholder back to Kassa), listens on 127.0.0.1 only and keeps nothing on disk.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { root } from './server.mjs';
import { pythonTool } from './python.mjs';

export const VERSION = '1.15.10';
export const SECRET_KEY = 'sk_test_kassa_localstripe';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startLocalstripe() {
  const python = join(pythonTool('localstripe', VERSION, 'localstripe.server'), 'bin', 'python');
  const port = await freePort();
  const standIn = join(root, 'tests', 'support', 'stripe_stand_in.py');
  const child = spawn(python, [standIn, '--port', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}/v1/balance`, { headers: { authorization: `Bearer ${SECRET_KEY}` } });
      break;
    } catch (error) {
      if (i > 600 || child.exitCode !== null) throw new Error(`localstripe did not start: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    async get(path) {
      const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${SECRET_KEY}` } });
      return response.json();
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  };
}
