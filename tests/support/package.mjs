// Packs the npm package and installs the tarball into a fresh folder, as a shop would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './server.mjs';

export function installPackedPackage() {
  const dir = mkdtempSync(join(tmpdir(), 'kassa-shop-'));
  const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root));
  const tarball = join(dir, packed[0].filename);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--offline', tarball], dir);
  return { dir, files: packed[0].files.map((f) => f.path), entry: createRequire(join(dir, 'shop.js')).resolve('kassa') };
}

export async function importPacked() {
  const installed = installPackedPackage();
  return { ...installed, kassa: await import(pathToFileURL(installed.entry)) };
}
