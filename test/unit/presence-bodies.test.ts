import { dialogBody, EMPTY_DIALOG_CALL_ID, mwiBody, presenceBody, xmlEscape, type DialogBodyFields } from '../../lib/presence/bodies';
import { dialogPlan, mwiPlan, presencePlan, publishPlan, type PuaFields, type PuaPlan } from '../../lib/presence/rows';
import type { PresentityWrite } from '../../lib/presence/types';
import { errorOf } from '../support/errors';

/** A field reader over plain strings (the payload reader is tested in presence-payload). */
function fields(values: Record<string, string | number>): PuaFields {
  return {
    text: (name) => (values[name] === undefined ? '' : String(values[name])),
    int: (name) => (typeof values[name] === 'number' ? (values[name] as number) : Number.parseInt(String(values[name] ?? '0'), 10) || 0),
  };
}

function written(plan: PuaPlan): PresentityWrite {
  if ('skip' in plan) throw new Error(`skipped: ${plan.detail}`);
  return plan;
}

const NOW = 1_800_000_000;
const OPTS = { includeEntity: true, now: NOW };

const DIALOG: Record<string, string | number> = {
  From: 'sip:1000@example.com',
  'From-User': '1000',
  'From-Realm': 'example.com',
  To: 'sip:2000@example.com',
  'To-User': '2000',
  'Call-ID': 'abc123',
  'From-Tag': 'ft1',
  'To-Tag': 'tt1',
  Direction: 'initiator',
  State: 'confirmed',
};

// The spec's templates (docs/presence.md#bodies), written out by hand.
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>';
const SPEC_DIALOG_EXAMPLE =
  `${HEAD}<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com">` +
  '<dialog id="abc123" call-id="abc123" local-tag="ft1" remote-tag="tt1" direction="initiator"><state>confirmed</state>' +
  '<local><identity display="1000">sip:1000@example.com</identity><target uri="sip:1000@example.com"/></local>' +
  '<remote><identity display="2000">sip:2000@example.com</identity><target uri="sip:2000@example.com"/></remote></dialog></dialog-info>';

describe('dialog bodies (docs/presence.md#bodies)', () => {
  it('matches the spec example byte for byte', () => {
    expect(written(dialogPlan(fields(DIALOG), OPTS)).row.body).toBe(SPEC_DIALOG_EXAMPLE);
  });

  it('keeps three spaces between call-id and direction without tags', () => {
    const body = written(dialogPlan(fields({ ...DIALOG, 'From-Tag': '', 'To-Tag': '' }), OPTS)).row.body;
    expect(body).toContain('call-id="abc123"   direction="initiator"');
  });

  it('keeps two spaces around a missing local tag', () => {
    const body = written(dialogPlan(fields({ ...DIALOG, 'From-Tag': '' }), OPTS)).row.body;
    expect(body).toContain('call-id="abc123"  remote-tag="tt1" direction=');
  });

  it('drops the target elements with pua_include_entity 0', () => {
    const body = written(dialogPlan(fields(DIALOG), { ...OPTS, includeEntity: false })).row.body;
    expect(body).toBe(SPEC_DIALOG_EXAMPLE.replace(/<target uri="[^"]*"\/>/g, ''));
  });

  it('writes the empty dialog with the hard-coded call-id when Call-ID is empty', () => {
    const plan = written(dialogPlan(fields({ ...DIALOG, 'Call-ID': '' }), OPTS));
    expect(plan.row.body).toBe(
      `${HEAD}<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com">` +
        ` <dialog call-id="${EMPTY_DIALOG_CALL_ID}" direction="initiator"><state>terminated</state></dialog></dialog-info>`,
    );
    expect(plan.row.sender).toBe('sip:');
    expect(plan.row.etag).toBe('');
  });

  it('applies the module defaults: From-URI, To-URI, Dialog-ID', () => {
    const body = written(dialogPlan(fields({ ...DIALOG, 'Dialog-ID': 'd1', 'From-URI': 'sip:a@b', 'To-URI': 'sip:c@d' }), OPTS)).row.body;
    expect(body).toContain('<dialog id="d1" call-id="abc123"');
    expect(body).toContain('<target uri="sip:a@b"/>');
    expect(body).toContain('<target uri="sip:c@d"/>');
  });

  it('escapes XML-special characters in every value, and only there', () => {
    const special = `a&b<c>d"e'f`;
    const body = written(dialogPlan(fields({ ...DIALOG, 'From-User': special, 'Call-ID': special }), OPTS)).row.body;
    const escaped = 'a&amp;b&lt;c&gt;d&quot;e&apos;f';
    expect(body).toContain(`call-id="${escaped}"`);
    expect(body).toContain(`display="${escaped}"`);
    expect(body.replace(new RegExp(escaped.replace(/[&;]/g, (c) => `\\${c}`), 'g'), 'X')).toBe(
      SPEC_DIALOG_EXAMPLE.replace(/abc123/g, 'X').replace('display="1000"', 'display="X"'),
    );
  });
});

describe('dialog rows (docs/presence.md#bodies, #rows)', () => {
  it('takes sender from Sender-URI, then Switch-URI, then sip:<Call-ID>', () => {
    expect(written(dialogPlan(fields({ ...DIALOG, 'Sender-URI': 's1', 'Switch-URI': 's2' }), OPTS)).row.sender).toBe('s1');
    expect(written(dialogPlan(fields({ ...DIALOG, 'Switch-URI': 's2' }), OPTS)).row.sender).toBe('s2');
    expect(written(dialogPlan(fields(DIALOG), OPTS)).row.sender).toBe('sip:abc123');
  });

  it('takes etag from ETag, else Call-ID', () => {
    expect(written(dialogPlan(fields({ ...DIALOG, ETag: 'e1' }), OPTS)).row.etag).toBe('e1');
    expect(written(dialogPlan(fields(DIALOG), OPTS)).row.etag).toBe('abc123');
  });

  it('uses the Presentity fields only when all three are set', () => {
    const all = written(dialogPlan(fields({ ...DIALOG, Presentity: 'sip:p@q', 'Presentity-User': 'p', 'Presentity-Realm': 'q' }), OPTS));
    expect([all.row.username, all.row.domain]).toEqual(['p', 'q']);
    expect(all.row.body).toContain('entity="sip:p@q"');
    const partial = written(dialogPlan(fields({ ...DIALOG, Presentity: 'sip:p@q', 'Presentity-User': 'p' }), OPTS));
    expect([partial.row.username, partial.row.domain]).toEqual(['1000', 'example.com']);
    expect(partial.row.body).toContain('entity="sip:1000@example.com"');
  });

  it('stores now + Expires only when Expires > 0', () => {
    expect(written(dialogPlan(fields({ ...DIALOG, Expires: 60 }), OPTS)).row).toMatchObject({ expires: NOW + 60, received_time: NOW, priority: 0 });
    expect(written(dialogPlan(fields({ ...DIALOG, Expires: 0 }), OPTS)).row.expires).toBe(0);
    expect(written(dialogPlan(fields({ ...DIALOG, Expires: -5 }), OPTS)).row.expires).toBe(-5);
    expect(written(dialogPlan(fields(DIALOG), OPTS)).row.expires).toBe(0);
  });

  it('maps Flush-Level to the write mode: ≤ 0 upsert on 4 keys, 1..3 DELETE on 4 − level keys', () => {
    expect(written(dialogPlan(fields(DIALOG), OPTS)).keyColumns).toBe(4);
    expect(written(dialogPlan(fields({ ...DIALOG, 'Flush-Level': -1 }), OPTS)).keyColumns).toBe(4);
    expect(written(dialogPlan(fields({ ...DIALOG, 'Flush-Level': 1 }), OPTS)).keyColumns).toBe(3);
    expect(written(dialogPlan(fields({ ...DIALOG, 'Flush-Level': 2 }), OPTS)).keyColumns).toBe(2);
    expect(written(dialogPlan(fields({ ...DIALOG, 'Flush-Level': 3 }), OPTS)).keyColumns).toBe(1);
  });

  it('refuses Flush-Level 4 and above with INVALID_ARGUMENT', () => {
    for (const level of [4, 5, 1000]) {
      const error = errorOf(() => dialogPlan(fields({ ...DIALOG, 'Flush-Level': level }), OPTS));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toBe(`kazoo: Flush-Level must be at most 3 (4 would delete the whole presentity table), got ${level}`);
    }
  });

  it.each(['From', 'To', 'State'])('skips with missing-field when %s is empty', (name) => {
    expect(dialogPlan(fields({ ...DIALOG, [name]: '' }), OPTS)).toEqual({ skip: 'missing-field', detail: 'missing one of From / To / State' });
  });
});

describe('MWI (docs/presence.md#bodies)', () => {
  const MWI = {
    From: 'sip:1000@example.com',
    'From-User': '1000',
    'From-Realm': 'example.com',
    'Call-ID': 'mwi-1',
    'Messages-Waiting': 'yes',
    'Message-Account': 'sip:1000@example.com',
    'Messages-New': '2',
    'Messages-Saved': '5',
    'Messages-Urgent': '0',
    'Messages-Urgent-Saved': '1',
    'Sender-URI': 'sip:ignored@x',
  };

  it('matches the spec example with CRLF lines', () => {
    const plan = written(mwiPlan(fields(MWI), OPTS));
    expect(plan.row.body).toBe('Messages-Waiting: yes\r\nMessage-Account: sip:1000@example.com\r\nVoice-Message: 2/5 (0/1)\r\n');
    expect(plan.row).toMatchObject({ event: 'message-summary', domain: 'example.com', username: '1000', etag: 'mwi-1', sender: 'sip:1000@example.com' });
    expect(plan.keyColumns).toBe(3);
  });

  it('validates nothing: an empty payload writes empty values', () => {
    const plan = written(mwiPlan(fields({}), OPTS));
    expect(plan.row.body).toBe('Messages-Waiting: \r\nMessage-Account: \r\nVoice-Message: / (/)\r\n');
    expect(plan.row).toMatchObject({ domain: '', username: '', etag: '', sender: '' });
  });

  it('does not escape (the body is not XML)', () => {
    expect(mwiBody({ messagesWaiting: 'a&b', messageAccount: '<x>', messagesNew: '', messagesSaved: '', messagesUrgent: '', messagesUrgentSaved: '' })).toContain(
      'Messages-Waiting: a&b\r\nMessage-Account: <x>\r\n',
    );
  });
});

describe('presence (docs/presence.md#bodies)', () => {
  const PRES = { From: 'sip:1000@example.com', 'From-User': '1000', 'From-Realm': 'example.com', 'To-User': '1000', 'Call-ID': 'c1', State: 'early' };
  const expected = (basic: string, note: string, activities: string): string =>
    `${HEAD}<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> ` +
    `<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="c1"><status><basic>${basic}</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">${note}</note>` +
    `<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities>${activities}</rpid:activities><dm:note>${note}</dm:note></dm:person></presence>`;

  it.each([
    ['early', 'open', 'Busy', '<rpid:busy/>'],
    ['confirmed', 'open', 'On the Phone', '<rpid:on-the-phone/>'],
    ['offline', 'closed', 'Offline', ''],
    ['terminated', 'open', 'Available', ''],
    ['Early', 'open', 'Available', ''],
  ])('maps State %s to %s / %s', (state, basic, note, activities) => {
    expect(presenceBody('1000', 'c1', state)).toBe(expected(basic, note, activities));
  });

  it('writes the module row: sender Sender-URI, Switch-URI, else From; reset 1', () => {
    const plan = written(presencePlan(fields(PRES), OPTS));
    expect(plan.row).toMatchObject({ event: 'presence', domain: 'example.com', username: '1000', etag: 'c1', sender: 'sip:1000@example.com' });
    expect(plan.keyColumns).toBe(3);
    expect(written(presencePlan(fields({ ...PRES, 'Switch-URI': 'sw' }), OPTS)).row.sender).toBe('sw');
    expect(written(presencePlan(fields({ ...PRES, 'Switch-URI': 'sw', 'Sender-URI': 'se' }), OPTS)).row.sender).toBe('se');
  });

  it.each(['From-User', 'To-User', 'State'])('skips with missing-field when %s is empty', (name) => {
    expect(presencePlan(fields({ ...PRES, [name]: '' }), OPTS)).toEqual({ skip: 'missing-field', detail: 'missing one of From-User / To-User / State' });
  });
});

describe('dispatcher (docs/presence.md#functions)', () => {
  it('needs Event-Name exactly "update"', () => {
    expect(publishPlan(fields({ ...DIALOG, 'Event-Name': 'Update', 'Event-Package': 'dialog' }), OPTS)).toMatchObject({ skip: 'not-update' });
    expect(publishPlan(fields({ ...DIALOG, 'Event-Package': 'dialog' }), OPTS)).toMatchObject({ skip: 'not-update' });
  });

  it('skips unknown packages, including inherited object keys', () => {
    for (const pkg of ['', 'Dialog', 'toString', 'constructor', 'mwi']) {
      expect(publishPlan(fields({ 'Event-Name': 'update', 'Event-Package': pkg }), OPTS)).toMatchObject({ skip: 'unknown-package' });
    }
  });

  it('routes each package to its handler', () => {
    expect(written(publishPlan(fields({ ...DIALOG, 'Event-Name': 'update', 'Event-Package': 'dialog' }), OPTS)).row.event).toBe('dialog');
    expect(written(publishPlan(fields({ 'Event-Name': 'update', 'Event-Package': 'message-summary' }), OPTS)).row.event).toBe('message-summary');
    expect(
      written(publishPlan(fields({ 'Event-Name': 'update', 'Event-Package': 'presence', 'From-User': 'a', 'To-User': 'b', State: 'x' }), OPTS)).row.event,
    ).toBe('presence');
  });
});

describe('xmlEscape()', () => {
  it('escapes the five specials and replaces characters XML 1.0 forbids', () => {
    expect(xmlEscape(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&apos;');
    expect(xmlEscape('a\u0001b\ud800c\u00e9\ud83d\ude00')).toBe('a\ufffdb\ufffdc\u00e9\ud83d\ude00');
    expect(xmlEscape('tab\tnl\ncr\r')).toBe('tab\tnl\ncr\r');
  });

  it('leaves plain values unchanged (the module bytes)', () => {
    const f: DialogBodyFields = {
      presentity: 'sip:1@x', dialogId: 'd', callId: 'c', fromTag: '', toTag: '', direction: 'recipient', state: 'early',
      fromUser: '1', from: 'sip:1@x', fromUri: 'sip:1@x', toUser: '2', to: 'sip:2@x', toUri: 'sip:2@x',
    };
    expect(dialogBody(f, true)).not.toContain('&');
  });
});
