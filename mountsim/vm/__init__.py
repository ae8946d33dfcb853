"""Linux 7.x kernels in a QEMU VM: kernel fetch, initramfs, guest agent, wire format."""
