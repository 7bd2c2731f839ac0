/**
 * Package check, ES module consumer: named imports of the CommonJS package resolve in Node's ESM
 * loader (through the exports map), and the classes behave.
 */
import assert from 'node:assert/strict';
import { Kazoo, KazooError, encode, json, DEFAULTS } from 'kazoo-amqp';
import kazooDefault from 'kazoo-amqp';
import { readCfg, KemiScript } from 'kazoo-amqp/kemi';

assert.equal(typeof Kazoo, 'function');
assert.equal(kazooDefault.Kazoo, Kazoo);
assert.equal(encode('example.com'), 'example%2Ecom');
assert.equal(json('{"a":{"b":[7]}}', 'a.b[0]'), '7');
assert.equal(typeof DEFAULTS.amqp_max_channels, 'number');
assert.throws(() => new Kazoo({ amqp_connection: 'amqp://guest:guest@127.0.0.1:5672' }), (error) => error instanceof KazooError && error.code === 'INVALID_CONFIG');
assert.equal(typeof readCfg, 'function');
assert.equal(typeof KemiScript, 'function');
console.log('package check (ESM): named imports work, kazoo-amqp/kemi too');
