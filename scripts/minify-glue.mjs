// Minifies a wasm-bindgen glue file in place: it is machine-written and read only by browsers.
// Given the page that loads it, also rewrites the Subresource Integrity hash the page holds for it.
// `node scripts/minify-glue.mjs js/wasm/kassa.js`
// `node scripts/minify-glue.mjs checkout-app/dist/kassa-checkout-<hash>.js checkout-app/dist/index.html`
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { transformSync } from 'esbuild';

const [glue, page] = process.argv.slice(2);
const source = readFileSync(glue);
const { code } = transformSync(source.toString(), { minify: true, format: 'esm', target: 'es2020', logLevel: 'warning' });
writeFileSync(glue, code);
if (page) {
  const sri = (data) => `sha384-${createHash('sha384').update(data).digest('base64')}`;
  const html = readFileSync(page, 'utf8');
  if (!html.includes(sri(source))) {
    console.error(`${page} holds no integrity hash for ${glue}`);
    process.exit(1);
  }
  writeFileSync(page, html.replaceAll(sri(source), sri(code)));
}
