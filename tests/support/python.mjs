// Python tools from PyPI for the tests, each in its own virtual environment under target/
// (`target/<package>-<version>`), made when missing. Building into a draft folder and renaming it
// keeps a half-made environment from ever being used.
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './server.mjs';

/** The folder of a virtual environment holding `package==version`; `module` proves it works. */
export function pythonTool(pkg, version, module) {
  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const dir = join(target, `${pkg}-${version}`);
  const python = join(dir, 'bin', 'python');
  const installed = () => {
    try {
      execFileSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (existsSync(python) && installed()) return dir;
  const draft = `${dir}.draft-${process.pid}`;
  rmSync(draft, { recursive: true, force: true });
  execFileSync('python3', ['-m', 'venv', draft], { stdio: 'inherit' });
  execFileSync(join(draft, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${pkg}==${version}`], { stdio: 'inherit' });
  try {
    renameSync(draft, dir);
  } catch {
    rmSync(draft, { recursive: true, force: true });
  }
  return dir;
}
