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
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional driver, loaded only when its backend is used
    return require(name) as T;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreFailure(`the ${pkg} package is needed for this db_url and could not be loaded (npm install ${pkg}): ${reason}`, 'DRIVER_MISSING', true);
  }
}

/**
 * Lets an idle database socket stop holding the process open (`hold` false) or makes it hold
 * it again while a batch runs: a script that wrote presence and never called close() still
 * exits, as a client that never connected to a broker does. Works on `pg` clients and `mysql2`
 * connections (both keep their socket at `.connection.stream`); anything else is left alone.
 */
export function holdSocket(handle: unknown, hold: boolean): void {
  const inner = (handle as { connection?: { stream?: unknown; connection?: { stream?: unknown } } } | undefined)?.connection;
  const stream = (inner?.stream ?? inner?.connection?.stream) as { ref?: () => void; unref?: () => void } | undefined;
  if (hold) stream?.ref?.();
  else stream?.unref?.();
}
