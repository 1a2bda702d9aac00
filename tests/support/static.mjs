// A shop's web server for tests: serves fixed pages and files on a free loopback port.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';

const TYPES = { js: 'text/javascript', wasm: 'application/wasm', html: 'text/html', css: 'text/css' };

/**
 * `routes` maps a path to `{ body }` or `{ file }`, or a prefix ending in `/` to a folder
 * (`{ dir }`). `intercept(path)` may answer first, e.g. to fail a download.
 */
export async function startStatic(routes, intercept = () => null) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, 'http://x').pathname;
    const forced = intercept(path);
    if (forced) {
      response.writeHead(forced.status).end(forced.body ?? '');
      return;
    }
    const prefix = Object.keys(routes).find((r) => r === path || (r.endsWith('/') && path.startsWith(r) && routes[r].dir));
    const route = routes[prefix];
    try {
      const body = route?.body ?? (await readFile(route?.file ?? `${route?.dir}/${path.slice(prefix.length)}`));
      const type = route?.type ?? TYPES[path.split('.').pop()] ?? 'text/html';
      response.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://localhost:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}
