// Flattened device tree (DTB v17) reading and writing. FdtView reads in place by offset,
// parseFdt/writeFdt hold a whole tree, FdtWriter writes sequentially for large trees.
export * from './constants.js';
export { FdtError, type FdtErrorCode } from './errors.js';
export { FdtView, readHeader, type FdtHeader, type FdtReservation, type FdtToken, type FdtPropertyRef } from './view.js';
export { FdtWriter, encodeValue, latin1Bytes, type FdtValue, type FdtWriterOptions } from './writer.js';
export {
  parseFdt, writeFdt, fdtNode, getProperty, setProperty, removeProperty, childNode, findNode, propertyString, propertyU32,
  type Fdt, type FdtNode, type FdtProperty,
} from './tree.js';
export { FdtEditor, StructBuilder } from './edit.js';
