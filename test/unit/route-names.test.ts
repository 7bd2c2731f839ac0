import { connectionEventPayload, consumerEventCandidates, normalizeRouteName } from '../../lib/route-names';

const DEFAULT_KEYS = { key: 'Event-Category', subkey: 'Event-Name' };

describe('normalizeRouteName()', () => {
  it('lower-cases ASCII letters and turns _ into -', () => {
    expect(normalizeRouteName('kazoo:consumer-event-call_event-CHANNEL_CREATE')).toBe(
      'kazoo:consumer-event-call-event-channel-create',
    );
  });

  it('keeps spaces, dots and other characters as they are', () => {
    expect(normalizeRouteName('A.B C/D:E')).toBe('a.b c/d:e');
  });

  it('leaves non-ASCII letters alone, like C tolower', () => {
    expect(normalizeRouteName('ÉVÉNEMENT_X')).toBe('ÉvÉnement-x');
  });
});

describe('consumerEventCandidates()', () => {
  it('tries category-name, category, key-subkey, key, then the bare route (docs/module-behaviour.md#event-routes)', () => {
    expect(consumerEventCandidates({ ...DEFAULT_KEYS, category: 'presence', name: 'update' })).toEqual([
      'kazoo:consumer-event-presence-update',
      'kazoo:consumer-event-presence',
      'kazoo:consumer-event-event-category-event-name',
      'kazoo:consumer-event-event-category',
      'kazoo:consumer-event',
    ]);
  });

  it('normalises values with underscores (docs/module-behaviour.md#event-routes)', () => {
    expect(consumerEventCandidates({ ...DEFAULT_KEYS, category: 'directory', name: 'reg_success' })[0]).toBe(
      'kazoo:consumer-event-directory-reg-success',
    );
  });

  it("falls back to the binding's event_key text when the payload lacks the category (docs/module-behaviour.md#event-routes)", () => {
    expect(
      consumerEventCandidates({ key: 'acl', subkey: 'Event-Name', category: '', name: 'flush', bindingEventKey: 'acl' }),
    ).toEqual([
      'kazoo:consumer-event-acl-flush',
      'kazoo:consumer-event-acl',
      'kazoo:consumer-event-acl-event-name',
      'kazoo:consumer-event-acl',
      'kazoo:consumer-event',
    ]);
  });

  it("falls back to the binding's event_subkey text when the payload lacks the name", () => {
    expect(
      consumerEventCandidates({
        key: 'Event-Category',
        subkey: 'Action',
        category: 'acl',
        name: '',
        bindingEventSubkey: 'Action',
      }).slice(0, 3),
    ).toEqual(['kazoo:consumer-event-acl-action', 'kazoo:consumer-event-acl', 'kazoo:consumer-event-event-category-action']);
  });

  it('keeps a payload value over the binding fallback when it is present', () => {
    expect(
      consumerEventCandidates({ key: 'acl', subkey: 'Event-Name', category: 'ACL_X', name: 'y', bindingEventKey: 'acl' })[0],
    ).toBe('kazoo:consumer-event-acl-x-y');
  });

  it('keeps double and trailing dashes for an empty category without binding fallback', () => {
    expect(consumerEventCandidates({ ...DEFAULT_KEYS, category: '', name: 'flush' }).slice(0, 2)).toEqual([
      'kazoo:consumer-event--flush',
      'kazoo:consumer-event-',
    ]);
  });

  it('names connection events like the module (connection-open)', () => {
    expect(consumerEventCandidates({ ...DEFAULT_KEYS, category: 'connection', name: 'open' }).slice(0, 2)).toEqual([
      'kazoo:consumer-event-connection-open',
      'kazoo:consumer-event-connection',
    ]);
  });

  it('always returns five candidates, duplicates included', () => {
    expect(consumerEventCandidates({ key: 'x', subkey: 'y', category: 'x', name: 'y' })).toHaveLength(5);
  });
});

describe('connectionEventPayload()', () => {
  it('produces the module text byte for byte, with " : " separators', () => {
    expect(connectionEventPayload('Event-Category', 'Event-Name', 'open', 'rabbit1', 'local')).toBe(
      '{ "Event-Category" : "connection", "Event-Name" : "open", "host" : "rabbit1", "zone" : "local" }',
    );
  });

  it('uses the configured field names and the closed state', () => {
    expect(connectionEventPayload('Cat', 'Name', 'closed', '::1', 'eu')).toBe(
      '{ "Cat" : "connection", "Name" : "closed", "host" : "::1", "zone" : "eu" }',
    );
  });

  it('is valid JSON even for texts with quotes or backslashes (deviation: the module does not escape)', () => {
    const payload = connectionEventPayload('Event-Category', 'Event-Name', 'open', 'we"ird\\host', 'z\n');
    expect(JSON.parse(payload)).toEqual({
      'Event-Category': 'connection',
      'Event-Name': 'open',
      host: 'we"ird\\host',
      zone: 'z\n',
    });
  });
});
