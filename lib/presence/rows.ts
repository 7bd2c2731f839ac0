/**
 * From a Kazoo update's fields to the presentity write the module makes (docs/presence.md#bodies, #rows):
 * required fields, the module's fallbacks (sender, etag, presentity), expiry, write mode, and
 * the dispatcher's choice of handler. Pure: fields come through a {@link PuaFields} reader.
 */
import { invalid } from '../errors';
import { dialogBody, mwiBody, presenceBody } from './bodies';
import type { PresentityWrite, PuaPackage, PuaSkipReason } from './types';

/** Field access as the module reads fields (missing → `""`, non-strings stringified, ints converted). */
export interface PuaFields {
  /** The field's value as text; `""` when missing or JSON null. */
  text(name: string): string;
  /** The field's value with json-c's int conversion; 0 when missing. */
  int(name: string): number;
}

/** A write to make, or why none is made. */
export type PuaPlan = PresentityWrite | { skip: PuaSkipReason; detail: string };

/** Options of the handlers, from the configuration. */
export interface PuaOptions {
  /** `pua_include_entity`: dialog bodies with `<target uri=…/>`. */
  includeEntity: boolean;
  /** The current time in Unix seconds (received_time, and the base of expires). */
  now: number;
}

function expiresAt(fields: PuaFields, now: number): number {
  const n = fields.int('Expires');
  return n > 0 ? now + n : n;
}

/**
 * The dialog handler (Kamailio: `kazoo_pua_publish_dialoginfo`, or `kazoo_pua_publish` with
 * `Event-Package: dialog`). Skips with `missing-field` when From, To or State is empty.
 * @throws KazooError INVALID_ARGUMENT when `Flush-Level` is 4 or more: the module would delete
 *   the whole table (4) or run an invalid DELETE (≥ 5); nothing is written.
 */
export function dialogPlan(fields: PuaFields, options: PuaOptions): PuaPlan {
  const t = (name: string): string => fields.text(name);
  const from = t('From');
  const to = t('To');
  const state = t('State');
  if (from === '' || to === '' || state === '') return { skip: 'missing-field', detail: 'missing one of From / To / State' };
  const flushLevel = fields.int('Flush-Level');
  if (flushLevel >= 4) {
    throw invalid('INVALID_ARGUMENT', 'Flush-Level', 'at most 3 (4 would delete the whole presentity table)', flushLevel);
  }
  let presentity = t('Presentity');
  let user = t('Presentity-User');
  let realm = t('Presentity-Realm');
  if (presentity === '' || user === '' || realm === '') {
    presentity = from;
    user = t('From-User');
    realm = t('From-Realm');
  }
  const callId = t('Call-ID');
  const body = dialogBody(
    {
      presentity,
      dialogId: t('Dialog-ID') || callId,
      callId,
      fromTag: t('From-Tag'),
      toTag: t('To-Tag'),
      direction: t('Direction'),
      state,
      fromUser: t('From-User'),
      from,
      fromUri: t('From-URI') || from,
      toUser: t('To-User'),
      to,
      toUri: t('To-URI') || to,
    },
    options.includeEntity,
  );
  return {
    row: {
      event: 'dialog',
      domain: realm,
      username: user,
      etag: t('ETag') || callId,
      sender: t('Sender-URI') || t('Switch-URI') || `sip:${callId}`,
      body,
      received_time: options.now,
      expires: expiresAt(fields, options.now),
      priority: 0,
    },
    keyColumns: flushLevel <= 0 ? 4 : ((4 - flushLevel) as 1 | 2 | 3),
  };
}

/**
 * The MWI handler (Kamailio: `kazoo_pua_publish_mwi`, or `Event-Package: message-summary`).
 * Like the module it validates nothing: missing values are written empty. Sender is always
 * `From` (the module computes a Sender-URI fallback and does not use it).
 */
export function mwiPlan(fields: PuaFields, options: PuaOptions): PuaPlan {
  const t = (name: string): string => fields.text(name);
  return {
    row: {
      event: 'message-summary',
      domain: t('From-Realm'),
      username: t('From-User'),
      etag: t('ETag') || t('Call-ID'),
      sender: t('From'),
      body: mwiBody({
        messagesWaiting: t('Messages-Waiting'),
        messageAccount: t('Message-Account'),
        messagesNew: t('Messages-New'),
        messagesSaved: t('Messages-Saved'),
        messagesUrgent: t('Messages-Urgent'),
        messagesUrgentSaved: t('Messages-Urgent-Saved'),
      }),
      received_time: options.now,
      expires: expiresAt(fields, options.now),
      priority: 0,
    },
    keyColumns: 3,
  };
}

/**
 * The presence handler (Kamailio: `kazoo_pua_publish_presence`, or `Event-Package: presence`).
 * Skips with `missing-field` when From-User, To-User or State is empty.
 */
export function presencePlan(fields: PuaFields, options: PuaOptions): PuaPlan {
  const t = (name: string): string => fields.text(name);
  const fromUser = t('From-User');
  const state = t('State');
  if (fromUser === '' || t('To-User') === '' || state === '') {
    return { skip: 'missing-field', detail: 'missing one of From-User / To-User / State' };
  }
  const callId = t('Call-ID');
  return {
    row: {
      event: 'presence',
      domain: t('From-Realm'),
      username: fromUser,
      etag: t('ETag') || callId,
      sender: t('Sender-URI') || t('Switch-URI') || t('From'),
      body: presenceBody(fromUser, callId, state),
      received_time: options.now,
      expires: expiresAt(fields, options.now),
      priority: 0,
    },
    keyColumns: 3,
  };
}

const HANDLERS: Readonly<Record<PuaPackage, (fields: PuaFields, options: PuaOptions) => PuaPlan>> = {
  dialog: dialogPlan,
  'message-summary': mwiPlan,
  presence: presencePlan,
};

/**
 * The dispatcher (Kamailio: `kazoo_pua_publish`): `Event-Name` must be exactly `update`, then
 * `Event-Package` picks the handler; anything else skips (`not-update` / `unknown-package`).
 * @throws KazooError INVALID_ARGUMENT as {@link dialogPlan}.
 */
export function publishPlan(fields: PuaFields, options: PuaOptions): PuaPlan {
  const name = fields.text('Event-Name');
  if (name !== 'update') return { skip: 'not-update', detail: `Event-Name is ${JSON.stringify(name)}, not "update"` };
  const pkg = fields.text('Event-Package');
  const handler = Object.prototype.hasOwnProperty.call(HANDLERS, pkg) ? HANDLERS[pkg as PuaPackage] : undefined;
  if (handler === undefined) {
    return { skip: 'unknown-package', detail: `Event-Package is ${JSON.stringify(pkg)}, not dialog, message-summary or presence` };
  }
  return handler(fields, options);
}

/** The handler of one package, for the direct `kazoo_pua_publish_*` functions. */
export function handlerFor(pkg: PuaPackage): (fields: PuaFields, options: PuaOptions) => PuaPlan {
  return HANDLERS[pkg];
}
