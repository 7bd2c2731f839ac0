/**
 * `publish-confirm`: as `publish`, with publisher confirms; timed from the first publish until the
 * broker confirmed all N (kazoo-amqp with `amqp_publisher_confirms: 1` awaiting every publish()
 * promise; amqplib ConfirmChannel callbacks; amqp-client confirmSelect + basicPublish promises;
 * ceiling confirm.select + reading basic.ack). Every client keeps at most W unconfirmed messages
 * in flight and refills at W/2.
 */
import { Scenario } from '../types';
import { makePublishScenario } from './publish';

/** The `publish-confirm` scenario. */
export const publishConfirm: Scenario = makePublishScenario(true);
