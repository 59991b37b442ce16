export * from './schema/products.ts';
export * from './schema/devices.ts';
export * from './schema/platform.ts';
export * from './schema/history.ts';
export * from './schema/commands.ts';
export * from './schema/rules.ts';
export * from './schema/broker.ts';
export * from './schema/gateway-ota.ts';
