/*
 * A presence-role KEMI script in app_jsdt style (plain ES5, global functions, global KSR),
 * run by `kazoo-amqp run --cfg examples/kemi/kamailio.cfg`.
 *
 * It binds to Kazoo's presence updates (dialog, MWI and presence) as 2600hz's presence-role.cfg
 * does, and hands each update to kazoo_pua_publish_* to write the presentity table.
 */

// The subscription of 2600hz's KZ_AMQP_BINDING_PRESENCE route.
var PRESENCE_BINDING = JSON.stringify({
  name: 'presence',
  exchange: 'presence',
  type: 'topic',
  queue: 'presence-dialog-kazoo-amqp-example',
  routing: ['dialog.*.*', 'update.*.*', 'mwi_updates.*.*'],
  exclusive: false,
  auto_delete: true,
  federate: true
});

var PUA = {
  dialog_update: 'kazoo_pua_publish_dialoginfo',
  mwi_update: 'kazoo_pua_publish_mwi',
  update: 'kazoo_pua_publish_presence'
};

function json(path) {
  return KSR.pv.get('$(kzE{kz.json,' + path + '})');
}

function ksr_kazoo_event(evname) {
  if (evname === 'kazoo:mod-init') {
    if (KSR.kazoo.kazoo_subscribe(PRESENCE_BINDING) !== 1) KSR.err('presence: cannot subscribe');
    return;
  }
  var category = json('Event-Category');
  var name = json('Event-Name');
  if (category === 'connection') {
    KSR.notice('amqp connection ' + name + ' to ' + json('host') + ' in zone ' + json('zone'));
    return;
  }
  if (category !== 'presence' || !PUA[name]) {
    KSR.dbg('ignoring ' + category + '/' + name + ' on ' + KSR.pv.getw('$kzRK'));
    return;
  }
  KSR.info(name + ' for ' + (json('From') || json('Presence-ID')) + ' state ' + json('State') +
    ' (' + json('Event-Package') + ', zone ' + json('AMQP-Broker-Zone') + ')');
  // 1: the write is under way (a database failure fails this event and is logged); -1: presence
  // is disabled or the payload is not JSON.
  if (KSR.kazoo[PUA[name]](KSR.pv.get('$kzE')) !== 1) KSR.err(PUA[name] + ' failed for ' + json('From'));
}
