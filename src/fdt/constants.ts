// Flattened device tree constants (Devicetree Specification v0.4, "Flattened Devicetree
// (DTB) Format"): the header, the structure-block tokens and the versions written here.

export const FDT_MAGIC = 0xd00dfeed;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** Ten big-endian u32 fields: magic .. size_dt_struct. */
export const FDT_HEADER_SIZE = 40;
/** The version written; version 17 is the first with size_dt_struct, so the least we read. */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
/** Nesting deeper than this is refused as absurd (real trees stay below 10). */
export const FDT_MAX_DEPTH = 64;
