"""Reading in keyset order, shared by Relay connections, streams and exports:
keysets, signed cursors, bounded windows and the reader threads they are
read on. One package, so that a page, a stream and an export of the same
order read the same rows in the same way."""
