// @nvmu/transport-vfio-user/host: the host side (trtype 'vfio-user') for @nvmu/client. Not yet
// written: importing it registers nothing.
export {};
