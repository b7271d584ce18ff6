/**
 * `@nvmu/transport-loopback/host`: importing this entry registers trtype 'loopback' with
 * @nvmu/client (through the registry on `globalThis`; the client is not loaded by it).
 */
import { registerLoopbackHostTransport } from './host-factory.js';

registerLoopbackHostTransport();

export { loopbackHostTransportFactory, registerLoopbackHostTransport } from './host-factory.js';
