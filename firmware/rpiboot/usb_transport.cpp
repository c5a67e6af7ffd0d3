// SPDX-License-Identifier: Apache-2.0
#include "firmware/rpiboot/usb_transport.hpp"

#include <thread>

#include <libusb.h>

namespace uhs::rpiboot {

using util::Errc;
using util::fail;

namespace {

constexpr unsigned k_control_out_timeout_ms = 1000;
constexpr unsigned k_bulk_timeout_ms = 5000;
constexpr unsigned k_control_in_timeout_ms = 20000;

std::string usb_error(int code) {
    return libusb_error_name(code);
}

struct ContextDeleter {
    void operator()(libusb_context* c) const { libusb_exit(c); }
};
struct DeviceListDeleter {
    void operator()(libusb_device** list) const { libusb_free_device_list(list, 1); }
};

class UsbDevice final : public Device {
public:
    UsbDevice(libusb_device_handle* handle, int serial_index, std::string serial, int interface,
              unsigned char out_endpoint)
        : m_handle(handle), m_serial_index(serial_index), m_serial(std::move(serial)),
          m_interface(interface), m_out_endpoint(out_endpoint) {}
    ~UsbDevice() override {
        libusb_release_interface(m_handle, m_interface);
        libusb_close(m_handle);
    }
    UsbDevice(const UsbDevice&) = delete;
    UsbDevice& operator=(const UsbDevice&) = delete;

    int serial_index() const override { return m_serial_index; }
    std::string serial() const override { return m_serial; }

    util::Status control_out(std::uint32_t value) override {
        const int rc = libusb_control_transfer(m_handle, std::uint8_t{0x40} /* vendor, OUT */, 0,
                                               static_cast<std::uint16_t>(value & 0xffff),
                                               static_cast<std::uint16_t>(value >> 16), nullptr, 0,
                                               k_control_out_timeout_ms);
        if (rc < 0) {
            return fail(Errc::io, "USB control OUT failed: ", usb_error(rc));
        }
        return {};
    }

    util::Status bulk_out(std::string_view data) override {
        int sent = 0;
        std::string copy(data); // libusb takes a non-const buffer
        const int rc = libusb_bulk_transfer(
            m_handle, m_out_endpoint, reinterpret_cast<unsigned char*>(copy.data()),
            static_cast<int>(copy.size()), &sent, k_bulk_timeout_ms);
        if (rc < 0 || static_cast<std::size_t>(sent) != data.size()) {
            return fail(Errc::io, "USB bulk OUT failed: ", usb_error(rc), " (",
                        std::to_string(sent), " of ", std::to_string(data.size()), " bytes)");
        }
        return {};
    }

    util::Result<std::string> control_in(std::uint32_t length) override {
        if (length > 0xffff) {
            return fail(Errc::invalid_input, "USB control IN of ", std::to_string(length),
                        " bytes is too large");
        }
        std::string buffer(length, '\0');
        const int rc = libusb_control_transfer(
            m_handle, std::uint8_t{0xC0} /* vendor, IN */, 0,
            static_cast<std::uint16_t>(length & 0xffff), static_cast<std::uint16_t>(length >> 16),
            reinterpret_cast<unsigned char*>(buffer.data()), static_cast<std::uint16_t>(length),
            k_control_in_timeout_ms);
        if (rc < 0) {
            return fail(Errc::io, "USB control IN failed: ", usb_error(rc));
        }
        buffer.resize(static_cast<std::size_t>(rc));
        return buffer;
    }

private:
    libusb_device_handle* m_handle;
    int m_serial_index;
    std::string m_serial;
    int m_interface;
    unsigned char m_out_endpoint;
};

class UsbTransport final : public Transport {
public:
    explicit UsbTransport(libusb_context* context) : m_context(context) {}

    util::Result<std::unique_ptr<Device>> wait_for(std::optional<Stage> stage,
                                                   std::chrono::milliseconds timeout) override {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string last_error;
        while (true) {
            auto found = try_open(stage, last_error);
            if (found) {
                return found;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                return fail(Errc::timeout, "no BCM2712 (USB 0a5c:2712) in ",
                            stage == Stage::second ? "its second stage" : "USB boot mode",
                            " after ", std::to_string(timeout.count() / 1000), " s",
                            last_error.empty() ? "" : " (last error: " + last_error + ")");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }

private:
    std::unique_ptr<Device> try_open(std::optional<Stage> stage, std::string& last_error) {
        libusb_device** raw = nullptr;
        const ssize_t count = libusb_get_device_list(m_context.get(), &raw);
        if (count < 0) {
            last_error = usb_error(static_cast<int>(count));
            return nullptr;
        }
        std::unique_ptr<libusb_device*, DeviceListDeleter> list(raw);
        for (ssize_t i = 0; i < count; ++i) {
            libusb_device_descriptor desc{};
            if (libusb_get_device_descriptor(raw[i], &desc) != 0 ||
                desc.idVendor != k_broadcom_vid || desc.idProduct != k_bcm2712_pid) {
                continue;
            }
            const bool rom = desc.iSerialNumber == 0 || desc.iSerialNumber == 3;
            if (stage && (*stage == Stage::rom) != rom) {
                continue;
            }
            libusb_config_descriptor* config = nullptr;
            if (int rc = libusb_get_active_config_descriptor(raw[i], &config); rc != 0) {
                last_error = usb_error(rc);
                continue;
            }
            const bool single = config->bNumInterfaces == 1;
            libusb_free_config_descriptor(config);
            libusb_device_handle* handle = nullptr;
            if (int rc = libusb_open(raw[i], &handle); rc != 0) {
                last_error = "open: " + usb_error(rc);
                continue;
            }
            const int interface = single ? 0 : 1;
            if (int rc = libusb_claim_interface(handle, interface); rc != 0) {
                last_error = "claim interface: " + usb_error(rc);
                libusb_close(handle);
                continue;
            }
            std::string serial;
            if (!rom && desc.iSerialNumber != 0) {
                unsigned char text[256] = {};
                const int n = libusb_get_string_descriptor_ascii(handle, desc.iSerialNumber, text,
                                                                 sizeof text);
                if (n > 0) {
                    serial.assign(reinterpret_cast<const char*>(text), static_cast<std::size_t>(n));
                }
            }
            return std::make_unique<UsbDevice>(handle, desc.iSerialNumber, std::move(serial),
                                               interface,
                                               static_cast<unsigned char>(single ? 0x01 : 0x03));
        }
        return nullptr;
    }

    std::unique_ptr<libusb_context, ContextDeleter> m_context;
};

} // namespace

util::Result<std::unique_ptr<Transport>> make_usb_transport() {
    libusb_context* context = nullptr;
    if (int rc = libusb_init(&context); rc != 0) {
        return fail(Errc::failed, "cannot initialise libusb: ", usb_error(rc));
    }
    return std::unique_ptr<Transport>(std::make_unique<UsbTransport>(context));
}

} // namespace uhs::rpiboot
