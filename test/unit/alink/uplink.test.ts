import { describe, expect, it } from 'vitest';
import { classifyUplink, uplinkOwner } from '../../../src/domain/alink/uplink.ts';

describe('classifyUplink', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['/sys/pk/dn/thing/event/property/post', { kind: 'propertyPost', productKey: 'pk', deviceName: 'dn' }],
    ['/sys/pk/dn/thing/event/property/history/post', { kind: 'propertyHistoryPost' }],
    ['/sys/pk/dn/thing/event/property/pack/post', { kind: 'propertyPackPost' }],
    ['/sys/pk/dn/thing/event/alarm/post', { kind: 'eventPost', eventId: 'alarm' }],
    [
      '/sys/pk/dn/thing/service/property/set_reply',
      { kind: 'serviceReply', requestPath: 'thing/service/property/set' },
    ],
    ['/sys/pk/dn/thing/service/reboot_reply', { kind: 'serviceReply', requestPath: 'thing/service/reboot' }],
    ['/sys/pk/dn/rrpc/response/123', { kind: 'rrpcResponse', messageId: '123' }],
    [
      '/ext/rrpc/77/pk/dn/user/get',
      { kind: 'extRrpcResponse', messageId: '77', innerTopic: '/pk/dn/user/get', productKey: 'pk', deviceName: 'dn' },
    ],
    ['/ext/rrpc/77//sys/pk/dn/thing/service/x', { kind: 'extRrpcResponse', productKey: 'pk' }],
    ['/sys/pk/dn/thing/topo/add', { kind: 'topology', action: 'add' }],
    ['/sys/pk/dn/thing/sub/register', { kind: 'topology', action: 'subRegister' }],
    ['/sys/pk/dn/thing/list/found', { kind: 'topology', action: 'listFound' }],
    ['/sys/pk/dn/thing/deviceinfo/update', { kind: 'deviceTags', op: 'update' }],
    ['/sys/pk/dn/thing/property/desired/get', { kind: 'desiredProperties', op: 'get' }],
    ['/ota/device/inform/pk/dn', { kind: 'otaInform', productKey: 'pk' }],
    ['/ota/device/progress/pk/dn', { kind: 'otaProgress' }],
    ['/ota/device/request/pk/dn', { kind: 'otaRequest' }],
    ['/ext/ntp/pk/dn/request', { kind: 'ntpRequest' }],
    ['/ext/session/pk/dn/combine/login', { kind: 'subDeviceSession', action: 'combine/login' }],
    ['/pk/dn/user/data', { kind: 'custom', shortName: 'data' }],
    ['/sys/pk/dn/thing/model/up_raw', { kind: 'other' }],
    ['/shadow/update/pk/dn', { kind: 'shadowUpdate', productKey: 'pk', deviceName: 'dn' }],
    ['/shadow/get/pk/dn', { kind: 'other', owner: { productKey: 'pk', deviceName: 'dn' } }],
    ['/sys/pk/dn/thing/ota/firmware/get', { kind: 'otaFirmwareGet', productKey: 'pk', deviceName: 'dn' }],
    ['/sys/pk/dn/thing/ota/firmware/get_reply', { kind: 'other' }],
    ['/ext/session/pk/dn/combine/batch_login', { kind: 'subDeviceBatchSession', action: 'combine/batch_login' }],
    ['/ext/session/pk/dn/combine/batch_logout', { kind: 'subDeviceBatchSession', action: 'combine/batch_logout' }],
    ['/ota/device/upgrade/pk/dn', { kind: 'other' }],
    ['not-a-topic', { kind: 'other', owner: null }],
  ];
  it.each(cases)('classifies %s', (topic, expected) => {
    expect(classifyUplink(topic)).toMatchObject(expected);
  });

  it('gives the owning device of every kind, the inner topic for custom RRPC', () => {
    expect(uplinkOwner(classifyUplink('/ext/rrpc/1/pk2/dn2/user/x'))).toEqual({ productKey: 'pk2', deviceName: 'dn2' });
    expect(uplinkOwner(classifyUplink('/sys/pk/dn/thing/event/property/post'))).toEqual({
      productKey: 'pk',
      deviceName: 'dn',
    });
    expect(uplinkOwner(classifyUplink('/broadcast/pk/x'))).toBeNull();
  });
});
