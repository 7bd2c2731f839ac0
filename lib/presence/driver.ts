/**
 * Loads a database driver package only when its backend is first used, so that an application
 * that never writes presence (or uses one backend) needs none of the others.
 */
import { StoreFailure } from './store';

/**
 * `require(name)`, or a fatal {@link StoreFailure} naming the package to install.
 * The drivers are optional dependencies of kazoo-amqp: installed by default, tolerated missing.
 */
export function loadDriver<T>(name: 'better-sqlite3' | 'pg' | 'mysql2/promise', pkg: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(name) as T;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreFailure(`the ${pkg} package is needed for this db_url and could not be loaded (npm install ${pkg}): ${reason}`, 'DRIVER_MISSING', true);
  }
}
