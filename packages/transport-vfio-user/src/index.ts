// Public API of @nvmu/transport-vfio-user. The server layer is also on its own subpath
// ("@nvmu/transport-vfio-user/server") for device emulations that do not need NVMe.
export * from './server.js';
