/**
 * The presence update sequence shared by the integration test and the opt-in differential test
 * against Kamailio's kazoo module: several dozen dialog, MWI and presence updates covering every
 * template, write mode and edge case of docs/presence.md, and the module's end state computed from it.
 */
import type { Kazoo, PuaResult } from '../../lib';
import { readPayload } from '../../lib/presence/payload';
import { dialogPlan, mwiPlan, presencePlan, publishPlan, type PuaFields, type PuaPlan } from '../../lib/presence/rows';
import { KEY_COLUMNS } from '../../lib/presence/types';
import type { StoredRow } from './presentity-db';

export type Entry = 'publish' | 'dialog' | 'message-summary' | 'presence';
export type Step = { entry: Entry; payload: string | object };

export function call(k: Kazoo, step: Step): Promise<PuaResult> {
  switch (step.entry) {
    case 'publish':
      return k.puaPublish(step.payload);
    case 'dialog':
      return k.puaPublishDialoginfo(step.payload);
    case 'message-summary':
      return k.puaPublishMwi(step.payload);
    case 'presence':
      return k.puaPublishPresence(step.payload);
  }
}

export const dialog = (user: string, callId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'Event-Category': 'presence', 'Event-Name': 'update', 'Event-Package': 'dialog',
  From: `sip:${user}@example.com`, 'From-User': user, 'From-Realm': 'example.com',
  To: 'sip:2000@example.com', 'To-User': '2000', 'To-Realm': 'example.com',
  'Call-ID': callId, 'From-Tag': `ft-${callId}`, 'To-Tag': `tt-${callId}`, Direction: 'initiator', State: 'early', Expires: 120, ...extra,
});
export const mwi = (user: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'Event-Name': 'update', 'Event-Package': 'message-summary', From: `sip:${user}@example.com`, 'From-User': user, 'From-Realm': 'example.com',
  'Call-ID': `mwi-${user}`, 'Messages-Waiting': 'yes', 'Message-Account': `sip:${user}@example.com`,
  'Messages-New': 1, 'Messages-Saved': 2, 'Messages-Urgent': 0, 'Messages-Urgent-Saved': 0, Expires: 3600, ...extra,
});
export const presence = (user: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'Event-Name': 'update', 'Event-Package': 'presence', From: `sip:${user}@example.com`, 'From-User': user, 'From-Realm': 'example.com',
  'To-User': user, 'Call-ID': `pres-${user}`, State: state, Expires: 60, ...extra,
});

/** Several dozen updates: every template, every write mode, the module's edge cases. */
export const SEQUENCE: Step[] = [
  { entry: 'publish', payload: dialog('1000', 'call-a') },
  { entry: 'publish', payload: dialog('1000', 'call-a', { State: 'confirmed' }) },
  { entry: 'publish', payload: dialog('1000', 'call-b', { 'From-Tag': '', 'To-Tag': '' }) },
  { entry: 'publish', payload: dialog('1005', 'call-r', { 'Flush-Level': 3, 'From-Realm': 'third.example' }) },
  { entry: 'publish', payload: JSON.stringify(dialog('1001', 'call-c', { 'To-Tag': '', Expires: 0 })) },
  { entry: 'publish', payload: dialog('1001', '', { Expires: -1 }) },
  { entry: 'publish', payload: dialog('1002', 'call-d', { Presentity: 'sip:park@example.com', 'Presentity-User': 'park', 'Presentity-Realm': 'example.com' }) },
  { entry: 'publish', payload: dialog('1002', 'call-e', { Presentity: 'sip:half@example.com', 'Presentity-User': 'half' }) },
  { entry: 'publish', payload: dialog('1003', 'call-f', { ETag: 'etag-f', 'Sender-URI': 'sip:sender@example.com', 'Dialog-ID': 'dlg-f' }) },
  { entry: 'publish', payload: dialog('1003', 'call-g', { 'Switch-URI': 'sip:switch@10.0.0.1', 'From-URI': 'sip:furi@x', 'To-URI': 'sip:turi@y' }) },
  { entry: 'publish', payload: dialog('1003', 'call-h', { 'Flush-Level': 1 }) },
  { entry: 'publish', payload: dialog('1004', 'call-i') },
  { entry: 'publish', payload: dialog('1005', 'call-j', { 'Realm-Extra': 1 }) },
  { entry: 'publish', payload: dialog('1004', 'call-k', { 'Flush-Level': 2, 'From-Realm': 'other.example' }) },
  { entry: 'publish', payload: dialog('1006', 'call-l', { 'From-Realm': 'other.example', Direction: 'recipient', State: 'terminated' }) },
  { entry: 'publish', payload: dialog('1007', 'call-m', { State: '' }) },
  { entry: 'publish', payload: dialog('1007', 'call-n', { To: '' }) },
  { entry: 'publish', payload: dialog('1008', 'call-o', { 'Event-Name': 'Update' }) },
  { entry: 'publish', payload: dialog('1008', 'call-p', { 'Event-Package': 'dialogs' }) },
  { entry: 'publish', payload: '[1, 2, 3]' },
  { entry: 'publish', payload: mwi('1000') },
  { entry: 'publish', payload: mwi('1000', { 'Call-ID': 'mwi-other', 'Messages-New': 3 }) },
  { entry: 'publish', payload: mwi('1001', { ETag: 'mwi-etag', 'Messages-Waiting': 'no', 'Sender-URI': 'sip:unused@x' }) },
  { entry: 'message-summary', payload: {} },
  { entry: 'message-summary', payload: { 'From-User': '1009', 'From-Realm': 'example.com', Expires: '30' } },
  { entry: 'publish', payload: presence('1000', 'early') },
  { entry: 'publish', payload: presence('1000', 'confirmed') },
  { entry: 'publish', payload: presence('1001', 'offline', { 'Switch-URI': 'sip:sw@x' }) },
  { entry: 'publish', payload: presence('1002', 'terminated', { 'Sender-URI': 'sip:se@x', ETag: 'pe' }) },
  { entry: 'publish', payload: presence('1003', '') },
  { entry: 'presence', payload: presence('1004', 'early', { 'Event-Name': 'not-checked', Expires: 0 }) },
  { entry: 'dialog', payload: dialog('1010', 'call-q', { 'Event-Package': 'presence' }) },
  { entry: 'dialog', payload: "{'From': 'sip:1011@example.com', 'From-User': '1011', 'From-Realm': 'example.com', 'To': 'sip:x@y', 'State': 'early', 'Call-ID': 42,}" },
  { entry: 'publish', payload: dialog('1000', 'call-a', { State: 'terminated', Expires: 1 }) },
  { entry: 'publish', payload: dialog('1012', 'call-s', { 'From-Realm': 'third.example' }) },
  { entry: 'publish', payload: presence('1013', 'early', { 'From-Realm': 'example.com' }) },
  { entry: 'publish', payload: mwi('1013', { 'Messages-New': 0 }) },
  { entry: 'publish', payload: dialog('1013', 'call-t', { Expires: 3600 }) },
];

export function planOf(step: Step, now: number, includeEntity: boolean): PuaPlan {
  const f: PuaFields = readPayload(step.payload);
  const o = { includeEntity, now };
  return step.entry === 'publish' ? publishPlan(f, o) : step.entry === 'dialog' ? dialogPlan(f, o) : step.entry === 'message-summary' ? mwiPlan(f, o) : presencePlan(f, o);
}

/** The module's end state for `steps` (docs/presence.md#rows), one write after the other, times masked. */
export function expectedTable(steps: Step[], includeEntity = true): StoredRow[] {
  let table: StoredRow[] = [];
  for (const step of steps) {
    const plan = planOf(step, 0, includeEntity);
    if ('skip' in plan) continue;
    const { row, keyColumns } = plan;
    table = table.filter((r) => !KEY_COLUMNS.slice(0, keyColumns).every((c) => r[c] === row[c]));
    table.push({ ...row });
  }
  return sortRows(table);
}

export const sortRows = (rows: StoredRow[]): StoredRow[] =>
  [...rows].sort((a, b) => (KEY_COLUMNS.map((c) => a[c]).join('\u0000') < KEY_COLUMNS.map((c) => b[c]).join('\u0000') ? -1 : 1));

/** Time columns as "now" and "now + Expires": received_time must lie in [t0, t1]; both are then masked. */
export function maskTimes(rows: StoredRow[], t0: number, t1: number): StoredRow[] {
  return rows.map((r) => {
    expect(r.received_time).toBeGreaterThanOrEqual(t0);
    expect(r.received_time).toBeLessThanOrEqual(t1);
    return { ...r, received_time: 0, expires: r.expires > t0 - 10 ? r.expires - r.received_time : r.expires };
  });
}

