// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "firmware/rpiboot/protocol.hpp"

namespace uhs::rpiboot {

// The real Transport: libusb-1.0, VID 0x0a5c PID 0x2712, polled every 250 ms. Needs write
// access to the USB device node (root, or a udev rule for 0a5c:2712).
util::Result<std::unique_ptr<Transport>> make_usb_transport();

} // namespace uhs::rpiboot
