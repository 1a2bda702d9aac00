// Prints a Markdown table of file sizes: raw, gzip -9 and brotli (quality 11).
// `node scripts/sizes.mjs "Title" file…`; the last row adds them up.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const [title, ...files] = process.argv.slice(2);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const rows = files.map((file) => {
  const data = readFileSync(file);
  return {
    name: basename(file),
    raw: data.length,
    gzip: gzipSync(data, { level: 9 }).length,
    brotli: brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
});
const total = rows.reduce((t, r) => ({ name: '**total**', raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
console.log(`## ${title}\n\n| file | raw | gzip | brotli |\n| --- | --- | --- | --- |`);
for (const r of [...rows, total]) console.log(`| ${r.name} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
console.log();
