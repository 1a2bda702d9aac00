// Writes a brotli (.br, quality 11) and a gzip (.gz, level 9) copy beside each file of a folder,
// for the server to send browsers that accept them: `node scripts/precompress.mjs checkout-app/dist`
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const dir = process.argv[2];
for (const name of readdirSync(dir).filter((n) => /\.(html|js|css|wasm)$/.test(n))) {
  const data = readFileSync(join(dir, name));
  const params = { [constants.BROTLI_PARAM_SIZE_HINT]: data.length, [constants.BROTLI_PARAM_QUALITY]: 11 };
  writeFileSync(join(dir, `${name}.br`), brotliCompressSync(data, { params }));
  writeFileSync(join(dir, `${name}.gz`), gzipSync(data, { level: 9 }));
}
