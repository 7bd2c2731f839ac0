/**
 * Stands in for lib/native.ts in the unit project (jest.config.js): a unit test that reaches the
 * addon, directly or through a lib/ module, fails here and belongs in test/native instead.
 */
throw new Error('kazoo-amqp: a unit test loaded the native addon (lib/native.ts); move it to test/native');
