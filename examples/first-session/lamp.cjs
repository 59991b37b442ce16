#!/usr/bin/env node
// A lamp on Alibaba's Link SDK (alibabacloud-iot-device-sdk): it connects to ThingQL, posts its Brightness, prints the
// platform's reply and exits. Only the broker address differs from a device built for Alibaba Cloud.
//
//   PRODUCT_KEY=... DEVICE_NAME=lamp-001 DEVICE_SECRET=... node examples/first-session/lamp.cjs [brightness]
//
// The broker: MQTT_URL, else mqtt://localhost:$MQTT_PORT (the server's setting, 1883 when unset). Another broker on
// that port (Mosquitto often is on 1883) would accept the lamp and never answer: after REPLY_TIMEOUT_MS (default
// 5000) without an Alink reply the lamp says so. Exit status: 0 when the post was answered with code 200, 1 otherwise.
'use strict';
const iot = require('alibabacloud-iot-device-sdk');

const env = process.env;
const missing = ['PRODUCT_KEY', 'DEVICE_NAME', 'DEVICE_SECRET'].filter((name) => !env[name]);
if (missing.length > 0) {
  console.error(`lamp: set ${missing.join(', ')} (README.md, "A first session")`);
  process.exit(2);
}
const brokerUrl = env.MQTT_URL || `mqtt://localhost:${env.MQTT_PORT || 1883}`;
const brightness = Number(process.argv[2] ?? 42);
const timeoutMs = Number(env.REPLY_TIMEOUT_MS || 5000);

function fail(message) {
  console.error(`lamp: ${message}`);
  process.exit(1);
}

const device = iot.device({
  productKey: env.PRODUCT_KEY,
  deviceName: env.DEVICE_NAME,
  deviceSecret: env.DEVICE_SECRET,
  brokerUrl,
});
const timer = setTimeout(
  () =>
    fail(
      `no Alink reply from ${brokerUrl} within ${timeoutMs} ms: is ThingQL listening there? Another MQTT broker (such as Mosquitto) ` +
        'accepts any device and never replies. Set MQTT_PORT (or MQTT_URL) to ThingQL\'s MQTT port: its log says "MQTT on mqtt://...".',
    ),
  timeoutMs,
);
device.on('error', (err) =>
  fail(
    `${brokerUrl}: ${err?.message ? err.message : String(err)} (check PRODUCT_KEY, DEVICE_NAME, DEVICE_SECRET and the broker)`,
  ),
);
device.on('connect', () => {
  console.log(`connected to ${brokerUrl} as ${env.DEVICE_NAME}`);
  device.postProps({ Brightness: brightness }, (res) => {
    clearTimeout(timer);
    console.log(`Brightness ${brightness} posted: reply code ${res.code}${res.message ? ` (${res.message})` : ''}`);
    device.end(false, () => process.exit(res.code === 200 ? 0 : 1));
  });
});
