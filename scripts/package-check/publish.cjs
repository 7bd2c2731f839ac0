/**
 * Package check, CommonJS consumer: require('kazoo-amqp') from an install made with
 * --ignore-scripts, connect to the broker, publish, and see the message arrive on a queue bound
 * by an independent client (amqplib, passed in by check-package.sh). Also proves the addon that
 * loaded is the package's prebuilt binary, not a build made on this machine.
 */
'use strict';
const assert = require('node:assert/strict');
const { randomUUID } = require('node:crypto');
const { Kazoo, KazooError, encode } = require('kazoo-amqp');
const amqplib = require(process.env.KAZOO_CHECK_AMQPLIB);

const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

async function main() {
  const loaded = process.report.getReport().sharedObjects.filter((file) => file.endsWith('kazoo_amqp.node'));
  assert.equal(loaded.length, 1, `one kazoo_amqp.node loaded, got ${JSON.stringify(loaded)}`);
  assert.match(loaded[0], /node_modules\/kazoo-amqp\/prebuilds\/linux-x64-glibc\/kazoo_amqp\.node$/);

  const observer = await amqplib.connect(url);
  const channel = await observer.createChannel();
  const exchange = `kazoo-amqp-package-check-${randomUUID()}`;
  await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, 'registration.#');
  const arrived = new Promise((resolve) => channel.consume(queue, (message) => resolve(message), { noAck: true }));

  const kazoo = new Kazoo({ node_hostname: 'package-check.example.com', amqp_connection: url });
  kazoo.on('error', (error) => console.error('kazoo error:', error.code, error.message));
  try {
    await kazoo.connect();
    const routingKey = `registration.success.${encode('example.com')}.1000`;
    await kazoo.publish(exchange, routingKey, { 'Event-Category': 'directory', 'Event-Name': 'reg_success' });
    const message = await Promise.race([
      arrived,
      new Promise((_, reject) => setTimeout(() => reject(new Error('published message did not arrive within 5 s')), 5000)),
    ]);
    assert.equal(message.fields.routingKey, 'registration.success.example%2Ecom.1000');
    const body = JSON.parse(message.content.toString('utf8'));
    assert.equal(body['Event-Name'], 'reg_success');
    assert.equal(body.Node, 'kamailio@package-check.example.com');
    assert.match(body['Msg-ID'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    await assert.rejects(kazoo.publish(exchange, 'a.b', '{not json'), (error) => error instanceof KazooError && error.code === 'INVALID_JSON');
    console.log(`package check (CommonJS): connected, published, message arrived (Msg-ID ${body['Msg-ID']}), addon ${loaded[0].replace(/.*node_modules\//, '')}`);
  } finally {
    await kazoo.close();
    await observer.close();
  }
}

main().catch((error) => {
  console.error('package check (CommonJS) FAILED:', error);
  process.exit(1);
});
