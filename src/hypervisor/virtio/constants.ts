// Virtio 1.x numbers (OASIS virtio v1.1): the MMIO transport's registers, status bits,
// feature bits and the split ring's descriptor flags, shared by the hypervisor's devices.
// The guest's drivers keep their own copy (src/guest/virtio), as a real driver would.

export const VIRTIO_MMIO = {
  MAGIC_VALUE: 0x000, VERSION: 0x004, DEVICE_ID: 0x008, VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010, DEVICE_FEATURES_SEL: 0x014, DRIVER_FEATURES: 0x020, DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030, QUEUE_NUM_MAX: 0x034, QUEUE_NUM: 0x038, QUEUE_READY: 0x044, QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060, INTERRUPT_ACK: 0x064, STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080, QUEUE_DESC_HIGH: 0x084, QUEUE_DRIVER_LOW: 0x090, QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0, QUEUE_DEVICE_HIGH: 0x0a4, CONFIG_GENERATION: 0x0fc, CONFIG: 0x100,
} as const;

/** "virt" in little-endian. */
export const VIRTIO_MAGIC = 0x74726976;
export const VIRTIO_MMIO_SIZE = 0x200;

export const STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, DEVICE_NEEDS_RESET: 64, FAILED: 128 } as const;

export const VIRTIO_F_VERSION_1 = 32n;
/** The device reaches memory only through the platform's DMA translation: a secure guest must bounce. */
export const VIRTIO_F_ACCESS_PLATFORM = 33n;
export const VIRTIO_BLK_F_FLUSH = 9n;
export const VIRTIO_BLK_F_RO = 5n;

export const DEVICE_ID = { BLOCK: 2, CONSOLE: 3 } as const;

export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const SECTOR_SIZE = 512;
