import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { isProcessAlive } from '../util/process.js';


/**
 * Exclusive lock on a directory through a `.lock` file holding the owner's pid. A lock left by a
 * dead process (kill -9) is taken over.
 */
export function acquireDirectoryLock(dir: string): { release(): void } {
  const file = path.join(dir, 'pcrs.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n${process.argv.slice(1).join(' ')}\n`);
      closeSync(fd);
      return {
        release: () => rmSync(file, { force: true }),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError('data-dir-unwritable', `Cannot write the lock file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
          hint: 'Set PCRS_DATA_DIR to a writable directory.',
          exitCode: 73,
        });
      }
      const [pidText = '', command = ''] = readFileSync(file, 'utf8').split('\n');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isProcessAlive(pid)) {
        throw new UserError('database-busy', `The embedded database in ${dir} is in use by process ${pid} (${command.trim() || 'pcrs'}).`, {
          hint: 'Stop that process first, or run PostgreSQL and set DATABASE_URL so that several processes can share the catalogue.',
          exitCode: 75,
          status: 503,
        });
      }
      rmSync(file, { force: true });
    }
  }
  throw new UserError('database-busy', `Could not take the lock ${file}.`, { exitCode: 75 });
}
