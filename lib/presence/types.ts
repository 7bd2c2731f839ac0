/**
 * Presence vocabulary shared by the body builders, the stores and the dispatcher: the result of a
 * `kazoo_pua_publish*` call and the presentity row it writes (docs/presence.md#rows).
 */

/** Why a `kazoo_pua_publish*` call wrote nothing (the module returns 1 for all of these). */
export type PuaSkipReason = 'not-update' | 'unknown-package' | 'missing-field';

/**
 * What a `kazoo.puaPublish*` call did: the row it wrote, or why it wrote nothing.
 * Kamailio: the module's functions return 1 in every one of these cases and report nothing.
 */
export type PuaResult =
  | { written: true; event: string; domain: string; username: string; etag: string }
  | { written: false; reason: PuaSkipReason; detail: string };

/** The nine columns the module writes, in its order (`id` and `ruid` are left to the table). */
export interface PresentityRow {
  event: string;
  domain: string;
  username: string;
  etag: string;
  sender: string;
  /** Stored as bytes (BLOB / BYTEA), UTF-8. */
  body: string;
  /** Unix seconds. */
  received_time: number;
  /** Unix seconds (now + Expires) when Expires > 0, else Expires as given (0 when missing). */
  expires: number;
  priority: number;
}

/** The key columns in the module's order: a write deletes on the first {@link PresentityWrite.keyColumns}. */
export const KEY_COLUMNS = ['event', 'domain', 'username', 'etag'] as const;

/**
 * One presentity write: DELETE the rows matching the first `keyColumns` key columns of `row`,
 * then INSERT `row`, in one transaction. `keyColumns` 4 is the module's REPLACE (reset ≤ 0);
 * 3, 2, 1 are its reset 1, 2, 3.
 */
export interface PresentityWrite {
  row: PresentityRow;
  keyColumns: 1 | 2 | 3 | 4;
}

/** The three packages `kazoo_pua_publish` dispatches on, by their `Event-Package` value. */
export type PuaPackage = 'dialog' | 'message-summary' | 'presence';
