// SPDX-License-Identifier: Apache-2.0
// The boot-chain check (firmware/bootcfg/boot_chain.hpp) against device trees dtc compiles from
// tests/fixtures/dts, initramfs archives written here with libarchive, and kernel tables as
// text. Every test case name carries "boot-chain" (ctest: `-R boot-chain`).
#include "builder/apt/lockfile.hpp"
#include "builder/config/board.hpp"
#include "builder/fetch/store.hpp"
#include "builder/image/build.hpp"
#include "builder/image/image_id.hpp"
#include "builder/image/plan.hpp"
#include "builder/image/state_files.hpp"
#include "builder/image/tar_writer.hpp"
#include "builder/util/archive.hpp"
#include "builder/util/sha256.hpp"
#include "builder/util/strings.hpp"
#include "firmware/bootcfg/boot_chain.hpp"
#include "firmware/bootcfg/initramfs.hpp"
#include "firmware/bootcfg/node_boot.hpp"
#include "firmware/rpiboot/plan.hpp"
#include "tests/unit/archive_support.hpp"
#include "tests/unit/build_support.hpp"
#include "tests/unit/test_support.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

using namespace uhs;
namespace fs = std::filesystem;
using bootcfg::Finding;

namespace {

const fs::path k_dtbs = UHS_DTB_DIR;

using Member = test::CpioMember;
const auto cpio = test::make_cpio;

// What Debian's initramfs-tools writes: an uncompressed early cpio padded to 512 bytes, then
// the main archive compressed.
std::string debian_initramfs(const std::vector<std::string>& modules) {
    std::string early = cpio({{"kernel/firmware/early.bin", "early"}}, ARCHIVE_FILTER_NONE);
    early.resize((early.size() + 511) / 512 * 512, '\0');
    std::vector<Member> main = {{"init", "#!/bin/sh\n"}};
    for (const std::string& m : modules) {
        main.push_back({"usr/lib/modules/7.3.4+bpo-arm64/kernel/" + m, "module"});
    }
    return early + cpio(main, ARCHIVE_FILTER_ZSTD);
}

// RP1's chain, and what mounts the NFS root (the root-driver check).
const std::vector<std::string> k_rp1_modules = {
    "fs/nfs/nfs.ko.xz",
    "fs/nfs/nfsv3.ko.xz",
    "fs/overlayfs/overlay.ko.xz",
    "drivers/misc/rp1/rp1-pci.ko.xz",
    "drivers/irqchip/irq-bcm2712-mip.ko.xz",
    "drivers/clk/clk-rp1.ko.xz",
    "drivers/pinctrl/pinctrl-rp1.ko.xz",
    "drivers/net/ethernet/cadence/macb.ko.xz",
    "drivers/net/phy/broadcom.ko.xz",
};

const char* const k_modules_alias = "# Aliases extracted from modules themselves.\n"
                                    "alias of:N*T*Craspberrypi,rp1-gemC* macb\n"
                                    "alias of:N*T*Craspberrypi,rp1-gem macb\n"
                                    "alias of:N*T*Ccdns,macbC* macb\n"
                                    "alias pci:v00001DE4d00000001sv*sd*bc*sc*i* rp1_pci\n"
                                    "alias of:N*T*Cbrcm,bcm2711-genet-v5 genet\n";

void write(const fs::path& path, const std::string& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

struct Fixture {
    test::TestDir dir;
    fs::path boot = dir.path() / "boot";
    bootcfg::KernelFacts kernel;
    bootcfg::ChainLimits limits;
    bootcfg::NodeBoot node{
        "n1", config::BoardModel::cm5_lite,
        "[all]\narm_64bit=1\nkernel=kernel_2712.img\ninitramfs initramfs_2712 followkernel\n"
        "device_tree=bcm2712-rpi-cm5l-cm5io.dtb\nenable_uart=1\n",
        "console=ttyAMA10,115200 console=tty1 root=/dev/nfs\n"};

    explicit Fixture(const std::string& dts = "bcm2712-good") {
        write(boot / "kernel_2712.img", "kernel");
        write(boot / "initramfs_2712", debian_initramfs(k_rp1_modules));
        use_tree(dts);
        kernel.version = "7.3.4+bpo-arm64";
        kernel.config = "CONFIG_ARM64=y\nCONFIG_ARM64_4K_PAGES=y\n";
        kernel.modules_alias = k_modules_alias;
        kernel.modules_builtin = "kernel/drivers/pci/controller/pcie-brcmstb.ko\n";
    }

    void use_tree(const std::string& dts, const std::string& as = "bcm2712-rpi-cm5l-cm5io.dtb") {
        fs::copy_file(k_dtbs / (dts + ".dtb"), boot / as, fs::copy_options::overwrite_existing);
    }

    std::vector<Finding> run() const {
        return bootcfg::check_boot_chain(std::span(&node, 1), boot, kernel, limits);
    }
};

std::vector<Finding> errors(const std::vector<Finding>& findings) {
    std::vector<Finding> out;
    std::copy_if(findings.begin(), findings.end(), std::back_inserter(out),
                 [](const Finding& f) { return !f.ok; });
    return out;
}

std::string lines(const std::vector<Finding>& findings) {
    std::string out;
    for (const Finding& f : findings) {
        out += (f.ok ? "ok    " : "error ") + f.check + "  " + f.to_line() + "\n";
    }
    return out;
}

// The one error the fixture must produce: its check, file and a piece of its message.
void require_single_error(const std::vector<Finding>& findings, std::string_view check,
                          std::string_view file, std::string_view text) {
    INFO(lines(findings));
    const auto bad = errors(findings);
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].node == "n1");
    CHECK(bad[0].check == check);
    CHECK(bad[0].file == file);
    CHECK(bad[0].message.find(text) != std::string::npos);
}

} // namespace

TEST_CASE("boot-chain: a CM5 Lite with RP1 Ethernet, its drivers and 4K pages passes") {
    const Fixture f;
    const auto findings = f.run();
    INFO(lines(findings));
    CHECK(errors(findings).empty());
    // Every check ran and said so.
    for (std::string_view check : bootcfg::boot_chain_checks()) {
        CHECK(std::any_of(findings.begin(), findings.end(),
                          [&](const Finding& x) { return x.check == check && x.ok; }));
    }
}

TEST_CASE("boot-chain: a tree without an Ethernet node is refused") {
    const Fixture f("bcm2712-no-ethernet");
    require_single_error(f.run(), bootcfg::k_check_ethernet, "boot/bcm2712-rpi-cm5l-cm5io.dtb",
                         "no Ethernet node (compatible raspberrypi,rp1-gem)");
}

TEST_CASE("boot-chain: a tree of the wrong SoC is refused") {
    const Fixture f("bcm2711-cm4");
    const auto findings = f.run();
    INFO(lines(findings));
    const auto bad = errors(findings);
    REQUIRE(!bad.empty());
    CHECK(bad[0].check == bootcfg::k_check_device_tree);
    CHECK(bad[0].message ==
          "compatible 'raspberrypi,4-compute-module, brcm,bcm2711' is not the cm5-lite's SoC "
          "(needs brcm,bcm2712)");
    // It has no RP1 Ethernet and no serial10 either.
    CHECK(std::any_of(bad.begin(), bad.end(),
                      [](const Finding& x) { return x.check == bootcfg::k_check_ethernet; }));
    CHECK(std::any_of(bad.begin(), bad.end(),
                      [](const Finding& x) { return x.check == bootcfg::k_check_console; }));
}

TEST_CASE("boot-chain: the same CM4 tree passes on a cm4 node") {
    Fixture f;
    f.node.model = config::BoardModel::cm4;
    f.node.config_txt = "[all]\nkernel=kernel8.img\ninitramfs initramfs8 followkernel\n"
                        "device_tree=bcm2711-rpi-cm4.dtb\n";
    f.node.cmdline_txt = "console=serial0,115200 console=tty1 root=/dev/nfs\n";
    write(f.boot / "kernel8.img", "kernel");
    write(f.boot / "initramfs8",
          debian_initramfs({"drivers/net/ethernet/broadcom/genet/genet.ko.xz",
                            "drivers/net/mdio/mdio-bcm-unimac.ko.xz",
                            "drivers/net/phy/broadcom.ko.xz", "fs/nfs/nfs.ko.xz",
                            "fs/nfs/nfsv3.ko.xz", "fs/overlayfs/overlay.ko.xz"}));
    f.use_tree("bcm2711-cm4", "bcm2711-rpi-cm4.dtb");
    const auto findings = f.run();
    INFO(lines(findings));
    CHECK(errors(findings).empty());
}

TEST_CASE("boot-chain: an Ethernet node without an alias is refused") {
    const Fixture f("bcm2712-no-alias");
    require_single_error(f.run(), bootcfg::k_check_ethernet, "boot/bcm2712-rpi-cm5l-cm5io.dtb",
                         "/axi/pcie@1000120000/rp1/ethernet@100000 (raspberrypi,rp1-gem) has no "
                         "alias");
}

TEST_CASE("boot-chain: an Ethernet node under a disabled PCIe controller is refused") {
    const Fixture f("bcm2712-pcie-disabled");
    require_single_error(f.run(), bootcfg::k_check_ethernet, "boot/bcm2712-rpi-cm5l-cm5io.dtb",
                         "is disabled (by /axi/pcie@1000120000)");
}

TEST_CASE("boot-chain: a 16K-page kernel is refused for Kubernetes") {
    Fixture f;
    f.kernel.config = "CONFIG_ARM64=y\nCONFIG_ARM64_16K_PAGES=y\n";
    require_single_error(f.run(), bootcfg::k_check_page_size, "/boot/config-7.3.4+bpo-arm64",
                         "16K pages (CONFIG_ARM64_16K_PAGES=y)");
    f.limits.kubernetes = false;
    CHECK(errors(f.run()).empty());
    f.limits.kubernetes = true;
    f.kernel.config.reset();
    require_single_error(f.run(), bootcfg::k_check_page_size, "/boot/config-7.3.4+bpo-arm64",
                         "no kernel config in the root (looked for /boot/config-7.3.4+bpo-arm64)");
    // read_kernel_facts looks in /boot, then beside the modules.
    test::TestDir root;
    auto facts = bootcfg::read_kernel_facts(root.path(), "7.3.4+bpo-arm64");
    CHECK_FALSE(facts.config);
    CHECK(facts.config_file ==
          "/boot/config-7.3.4+bpo-arm64 or /usr/lib/modules/7.3.4+bpo-arm64/config");
    write(root.path() / "usr/lib/modules/7.3.4+bpo-arm64/config", "CONFIG_ARM64_4K_PAGES=y\n");
    facts = bootcfg::read_kernel_facts(root.path(), "7.3.4+bpo-arm64");
    CHECK(facts.config == "CONFIG_ARM64_4K_PAGES=y\n");
    CHECK(facts.config_file == "/usr/lib/modules/7.3.4+bpo-arm64/config");
    CHECK_FALSE(facts.modules_alias);
}

TEST_CASE("boot-chain: an oversized initramfs is refused for old bootloaders and slow links") {
    Fixture f;
    // An early archive with a large firmware file ahead of the main archive, 65,536 blocks of
    // 1468 bytes in all.
    const fs::path initramfs = f.boot / "initramfs_2712";
    const std::string main = debian_initramfs(k_rp1_modules);
    const std::uintmax_t size = 65536ull * 1468;
    {
        std::FILE* out = std::fopen(initramfs.c_str(), "wb");
        REQUIRE(out != nullptr);
        util::ArchiveWriter writer(archive_write_new());
        archive_write_set_format_cpio_newc(writer.get());
        archive_write_set_bytes_in_last_block(writer.get(), 1);
        REQUIRE(archive_write_open_FILE(writer.get(), out) == ARCHIVE_OK);
        util::ArchiveEntry entry(archive_entry_new());
        archive_entry_set_pathname(entry.get(), "kernel/firmware/big.bin");
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        // newc: 110-byte header + name padded to 4, the trailer's 124 bytes, the data; zeros
        // between the two archives make up the rest, as initramfs-tools pads.
        const std::uintmax_t data = (size - main.size() - 136 - 124) / 4 * 4 - 512;
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data));
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        const std::string zeros(1 << 20, '\0');
        for (std::uintmax_t left = data; left > 0;) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uintmax_t>(left, zeros.size()));
            REQUIRE(archive_write_data(writer.get(), zeros.data(), n) ==
                    static_cast<la_ssize_t>(n));
            left -= n;
        }
        REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
        writer.reset();
        const auto early = static_cast<std::uintmax_t>(std::ftell(out));
        const std::string padding(size - main.size() - early, '\0');
        std::fwrite(padding.data(), 1, padding.size(), out);
        std::fwrite(main.data(), 1, main.size(), out);
        std::fclose(out);
    }
    REQUIRE(fs::file_size(initramfs) == size);
    auto findings = f.run();
    {
        INFO(lines(findings));
        const auto bad = errors(findings);
        REQUIRE(bad.size() == 2);
        CHECK(bad[0].file == "boot/initramfs_2712");
        CHECK(bad[0].message ==
              "96206848 bytes is 65536 TFTP blocks of 1468: bootloaders before 2025-09-23 fail "
              "after 65535 (the cluster declares no firmware.bootloader)");
        CHECK(bad[1].message == "96206848 bytes take 32.1 s at 3 MB/s, over TFTP_FILE_TIMEOUT "
                                "(30.0 s; firmware.tftp_file_timeout)");
    }
    f.limits.bootloader = "2025-09-22";
    CHECK(errors(f.run()).size() == 2);
    f.limits.bootloader = "2025-09-23"; // block numbers wrap: only the time is left
    require_single_error(f.run(), bootcfg::k_check_tftp, "boot/initramfs_2712",
                         "over TFTP_FILE_TIMEOUT");
    f.limits.tftp_file_timeout_ms = 300000;
    CHECK(errors(f.run()).empty());
}

TEST_CASE("boot-chain: a driver missing from the initramfs is refused") {
    Fixture f;
    std::vector<std::string> without_macb = k_rp1_modules;
    std::erase(without_macb, "drivers/net/ethernet/cadence/macb.ko.xz");
    write(f.boot / "initramfs_2712", debian_initramfs(without_macb));
    const auto bad = errors(f.run());
    INFO(lines(bad));
    REQUIRE(bad.size() == 1); // named once, not again as a link of the chain
    CHECK(bad[0].message == "module macb (the driver of /axi/pcie@1000120000/rp1/ethernet@100000) "
                            "is not in the initramfs");
    // A chain module no alias leads to is named as such.
    std::vector<std::string> without_mip = k_rp1_modules;
    std::erase(without_mip, "drivers/irqchip/irq-bcm2712-mip.ko.xz");
    write(f.boot / "initramfs_2712", debian_initramfs(without_mip));
    require_single_error(f.run(), bootcfg::k_check_driver, "boot/initramfs_2712",
                         "module irq_bcm2712_mip (Ethernet driver chain) is neither in the "
                         "initramfs nor built into kernel 7.3.4+bpo-arm64");
}

TEST_CASE("boot-chain: what mounts the root must be in the initramfs or built in") {
    Fixture f;
    std::vector<std::string> without_nfsv3 = k_rp1_modules;
    std::erase(without_nfsv3, "fs/nfs/nfsv3.ko.xz");
    std::erase(without_nfsv3, "fs/overlayfs/overlay.ko.xz");
    write(f.boot / "initramfs_2712", debian_initramfs(without_nfsv3));
    require_single_error(f.run(), bootcfg::k_check_root_driver, "boot/initramfs_2712",
                         "module nfsv3, overlay (to mount the NFS root) is neither in the "
                         "initramfs nor built into kernel 7.3.4+bpo-arm64");
    // Built in counts; uhs.overlay=off needs no overlay module.
    f.kernel.modules_builtin += "kernel/fs/nfs/nfsv3.ko\n";
    f.node.cmdline_txt = "console=ttyAMA10,115200 root=/dev/nfs uhs.overlay=off\n";
    CHECK(errors(f.run()).empty());
    // A disk root needs its filesystem: ext4 unless rootfstype= says otherwise.
    f.node.cmdline_txt = "console=ttyAMA10,115200 root=LABEL=rootfs\n";
    require_single_error(f.run(), bootcfg::k_check_root_driver, "boot/initramfs_2712",
                         "module ext4 (to mount the root LABEL=rootfs) is neither");
    f.node.cmdline_txt = "console=ttyAMA10,115200 root=LABEL=rootfs rootfstype=btrfs\n";
    require_single_error(f.run(), bootcfg::k_check_root_driver, "boot/initramfs_2712",
                         "module btrfs (to mount the root LABEL=rootfs)");
    f.node.cmdline_txt = "console=ttyAMA10,115200\n";
    require_single_error(f.run(), bootcfg::k_check_root_driver, "cmdline.txt", "names no root=");
}

TEST_CASE("boot-chain: a kernel without RP1 drivers is refused") {
    Fixture f;
    // Debian trixie's 6.12: macb exists, RP1 does not (FACTS-cm5-hardware.md).
    f.kernel.modules_alias = "alias of:N*T*Ccdns,macbC* macb\n";
    const auto bad = errors(f.run());
    INFO(lines(bad));
    REQUIRE(!bad.empty());
    CHECK(bad[0].message.starts_with("kernel 7.3.4+bpo-arm64 has no driver for "
                                     "/axi/pcie@1000120000/rp1/ethernet@100000"));
    CHECK(bad[1].message == "kernel 7.3.4+bpo-arm64 has no driver for the Ethernet's PCIe bridge "
                            "pci:v00001DE4d00000001 (modules.alias matches nothing for "
                            "pci:v00001DE4d00000001sv00001DE4sd00000001bc00sc00i00)");
}

TEST_CASE("boot-chain: files config.txt names must be in boot/") {
    Fixture f;
    f.node.config_txt += "dtoverlay=uart0,ctsrts\n";
    fs::remove(f.boot / "kernel_2712.img");
    const auto bad = errors(f.run());
    INFO(lines(bad));
    REQUIRE(bad.size() == 2);
    CHECK(bad[0].to_line() ==
          "node n1: boot/kernel_2712.img: missing: config.txt names it but boot/ has no such file");
    CHECK(bad[1].file == "boot/overlays/uart0.dtbo");
}

TEST_CASE("boot-chain: console= must name a UART the tree has") {
    Fixture f;
    f.node.cmdline_txt = "console=serial0,115200 console=tty1 root=/dev/nfs\n";
    require_single_error(f.run(), bootcfg::k_check_console, "cmdline.txt",
                         "console=serial0 needs the alias serial0, which "
                         "boot/bcm2712-rpi-cm5l-cm5io.dtb does not have (its UARTs: serial10)");
}

TEST_CASE("boot-chain: a file that is no device tree is refused") {
    Fixture f;
    write(f.boot / "bcm2712-rpi-cm5l-cm5io.dtb", "not a tree\n");
    require_single_error(f.run(), bootcfg::k_check_device_tree, "boot/bcm2712-rpi-cm5l-cm5io.dtb",
                         "not a flattened device tree");
}

TEST_CASE("boot-chain: initramfs members come from every segment Debian writes") {
    test::TestDir dir;
    write(dir.path() / "initrd", debian_initramfs(k_rp1_modules));
    const auto members = bootcfg::initramfs_members(dir.path() / "initrd");
    REQUIRE(members);
    CHECK(members->front() == "kernel/firmware/early.bin");
    const auto modules = bootcfg::module_names(*members);
    CHECK(modules == std::set<std::string>{"broadcom", "clk_rp1", "irq_bcm2712_mip", "macb", "nfs",
                                           "nfsv3", "overlay", "pinctrl_rp1", "rp1_pci"});
    // A gzip main archive reads the same.
    std::string early = cpio({{"early", "x"}}, ARCHIVE_FILTER_NONE);
    write(dir.path() / "gz", early + cpio({{"lib/modules/v/macb.ko", "m"}}, ARCHIVE_FILTER_GZIP));
    const auto gz = bootcfg::initramfs_members(dir.path() / "gz");
    REQUIRE(gz);
    CHECK(*gz == std::vector<std::string>{"early", "lib/modules/v/macb.ko"});
    write(dir.path() / "junk", "this is no cpio archive at all");
    const auto junk = bootcfg::initramfs_members(dir.path() / "junk");
    REQUIRE(!junk);
    CHECK(junk.error().code == util::Errc::invalid_input);
}

TEST_CASE("boot-chain: modules.alias patterns match as modprobe's do") {
    CHECK(bootcfg::resolve_modalias(k_modules_alias,
                                    "of:NethernetT(null)Craspberrypi,rp1-gemCcdns,macb") ==
          std::vector<std::string>{"macb"});
    CHECK(bootcfg::resolve_modalias(k_modules_alias, "of:NethernetT(null)Cvendor,other").empty());
    CHECK(bootcfg::resolve_modalias("alias pci:v00001DE4d00000001sv*sd*bc*sc*i* rp1-pci\n",
                                    "pci:v00001DE4d00000001sv00000000sd00000000bc00sc00i00") ==
          std::vector<std::string>{"rp1_pci"});
}

TEST_CASE("boot-chain: config.txt names the files the firmware loads") {
    const auto files = bootcfg::files_of_config_txt(
        "# comment\n[all]\nkernel=k.img\ninitramfs initrd.zst followkernel\n"
        "dtoverlay=disable-bt\ndtoverlay=\n",
        config::BoardModel::cm5);
    CHECK(files.kernel == "k.img");
    CHECK(files.initramfs == "initrd.zst");
    CHECK(files.device_tree == "bcm2712-rpi-cm5-cm5io.dtb"); // the board's default
    CHECK(files.overlays == std::vector<std::string>{"overlays/disable-bt.dtbo"});
}

TEST_CASE("boot-chain: the board table has every model, each SoC's files once") {
    for (auto model :
         {config::BoardModel::cm5, config::BoardModel::cm5_lite, config::BoardModel::pi5,
          config::BoardModel::cm4, config::BoardModel::uefi_arm64}) {
        CHECK(config::board_for(model).model == model);
    }
    CHECK(config::board_for(config::BoardModel::cm5_lite).default_dtb ==
          "bcm2712-rpi-cm5l-cm5io.dtb");
    CHECK(config::board_for(config::BoardModel::cm4).kernel == "kernel8.img");
    CHECK(config::board_for(config::BoardModel::uefi_arm64).soc == 0);
}

namespace {

// good.yaml beside its keyring and a lock, so the plan knows the image-id.
struct PlanFixture {
    test::TestDir dir;
    fs::path cluster_file = dir.path() / "cluster.yaml";
    config::Cluster cluster;

    PlanFixture() {
        fs::create_directories(dir.path() / "keyrings");
        fs::copy_file(test::data_dir() / "configs/keyrings/test-archive.gpg",
                      dir.path() / "keyrings/test-archive.gpg");
        fs::copy_file(test::data_dir() / "configs/good.yaml", cluster_file);
        auto loaded = config::load_cluster(cluster_file, {});
        REQUIRE(loaded);
        cluster = *loaded;
        apt::LockFile lock;
        lock.request_sha256 = apt::request_digest(cluster.image);
        lock.architecture = "arm64";
        lock.sources = {{"debian", "trixie", "2025-03-01T12:00:00Z", std::string(64, 'a')}};
        REQUIRE(util::write_file_atomic(cluster_file.string() + ".lock", apt::format_lock(lock)));
    }

    image::BuildPlan plan() const {
        auto made = image::make_build_plan(cluster, dir.path() / "out");
        REQUIRE(made);
        return *made;
    }
};

} // namespace

TEST_CASE("boot-chain: plan shows pending, then what the last build found per node") {
    const PlanFixture f;
    auto plan = f.plan();
    REQUIRE(plan.inputs.image_id());
    const std::string id = *plan.inputs.image_id();
    CHECK(plan.nodes[0].boot_chain_state == "pending");
    CHECK(image::to_json(plan)["nodes"][0]["boot_chain"]["state"] == "pending");
    const auto pending = image::to_json(plan)["nodes"][0]["boot_chain"]["checks"];
    REQUIRE(pending.size() == bootcfg::boot_chain_checks().size());
    CHECK(pending[0] == nlohmann::json{{"check", "files"}, {"ok", nullptr}});
    CHECK(image::to_text(plan).find("boot chain: pending") != std::string::npos);

    // A refused build left its findings beside the image: n1 failed, n2 passed.
    const std::vector<Finding> found = {
        {"n1", "boot/bcm2712-rpi-cm5l-cm5io.dtb", "files", false, "missing: config.txt names it"},
        {"n2", "config.txt", "files", true, "kernel, initramfs, device tree and overlays"},
    };
    fs::create_directories(f.dir.path() / "out");
    REQUIRE(util::write_file_atomic(f.dir.path() / "out" / (id + ".boot-chain.json"),
                                    image::boot_chain_to_json(found).dump()));
    plan = f.plan();
    CHECK(plan.nodes[0].boot_chain_state == "failed");
    CHECK(plan.nodes[1].boot_chain_state == "passed");
    const auto json = image::to_json(plan);
    CHECK(json["nodes"][0]["boot_chain"]["checks"][0]["message"] == "missing: config.txt names it");
    CHECK(json["nodes"][0]["boot_chain"]["checks"][0]["ok"] == false);
    CHECK(image::to_text(plan).find("      files  boot/bcm2712-rpi-cm5l-cm5io.dtb: missing") !=
          std::string::npos);

    // The built image's own report wins.
    fs::create_directories(plan.image_dir);
    REQUIRE(util::write_file_atomic(plan.image_dir / "boot-chain.json",
                                    image::boot_chain_to_json({found[1]}).dump()));
    plan = f.plan();
    CHECK(plan.nodes[0].boot_chain_state == "passed");
    CHECK(plan.nodes[1].boot_chain.size() == 1);

    const auto bad = image::boot_chain_from_json("{\"checks\": [1]}", "x.json");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "x.json: not a boot-chain report");
}

TEST_CASE("boot-chain: the cluster file declares the bootloader and TFTP_FILE_TIMEOUT") {
    const PlanFixture f;
    CHECK_FALSE(f.cluster.firmware.bootloader);
    CHECK(f.cluster.firmware.tftp_file_timeout_ms == 30000);
    std::string text = *util::read_file(f.cluster_file);
    text += "firmware:\n  bootloader: 2025-09-23\n  tftp_file_timeout: 300000\n";
    auto cluster = config::parse_cluster(text, f.cluster_file, {});
    REQUIRE(cluster);
    CHECK(cluster->firmware.bootloader == "2025-09-23");
    CHECK(cluster->firmware.tftp_file_timeout_ms == 300000);
    // The EEPROM gets the same TFTP_FILE_TIMEOUT the check assumed.
    CHECK(rpiboot::node_bootconf(*cluster, cluster->nodes[0]).find("TFTP_FILE_TIMEOUT=300000\n") !=
          std::string::npos);
    // Without it, the value derived from the largest boot file wins.
    CHECK(rpiboot::node_bootconf(*cluster, cluster->nodes[0], 45000)
              .find("TFTP_FILE_TIMEOUT=300000\n") != std::string::npos);
    CHECK(rpiboot::node_bootconf(f.cluster, f.cluster.nodes[0], 45000)
              .find("TFTP_FILE_TIMEOUT=45000\n") != std::string::npos);
    // A flash bundle may not put an older bootloader on a node than the cluster declares.
    const fs::path old_eeprom = f.dir.path() / "pieeprom-2025-05-08.bin";
    auto refused = rpiboot::write_bundle(*cluster, cluster->nodes[0],
                                         {f.dir.path() / "recovery.bin", old_eeprom, 0},
                                         f.dir.path() / "bundle");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message == old_eeprom.string() +
                                         " is the 2025-05-08 bootloader, older than the "
                                         "cluster's firmware.bootloader 2025-09-23");
    CHECK_FALSE(fs::exists(f.dir.path() / "bundle"));
}

TEST_CASE("boot-chain: nodes[].device_tree picks the tree config.txt names and boot/ must hold") {
    const PlanFixture f;
    std::string text = *util::read_file(f.cluster_file);
    const std::string anchor = "    role: control-plane\n";
    const auto at = text.find(anchor);
    REQUIRE(at != std::string::npos);
    text.insert(at + anchor.size(), "    device_tree: bcm2712-d-rpi-5-b.dtb\n");
    auto cluster = config::parse_cluster(text, f.cluster_file, {});
    REQUIRE(cluster);
    const config::Node& node = cluster->nodes[0];
    CHECK(node.device_tree == "bcm2712-d-rpi-5-b.dtb");
    const std::string config_txt = bootcfg::render_config_txt(*cluster, node, "id");
    CHECK(config_txt.find("device_tree=bcm2712-d-rpi-5-b.dtb\n") != std::string::npos);
    CHECK(image::boot_files_for(node).dtb == "bcm2712-d-rpi-5-b.dtb");
    CHECK(image::boot_files_for(cluster->nodes[1]).dtb == "bcm2712-rpi-cm5l-cm5io.dtb");
    // The choice is part of the image-id; without one the id is what it was.
    const auto chosen = image::collect_image_id_inputs(*cluster);
    const auto plain = image::collect_image_id_inputs(f.cluster);
    REQUIRE(chosen);
    REQUIRE(plain);
    CHECK(chosen->config_subset["device_trees"]["n1"] == "bcm2712-d-rpi-5-b.dtb");
    CHECK_FALSE(plain->config_subset.contains("device_trees"));

    // The check holds the node to that file.
    Fixture chain;
    chain.node.config_txt = config_txt;
    auto bad = errors(chain.run());
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].to_line() == "node n1: boot/bcm2712-d-rpi-5-b.dtb: missing: config.txt names it "
                              "but boot/ has no such file");
    chain.use_tree("bcm2712-good", "bcm2712-d-rpi-5-b.dtb");
    CHECK(errors(chain.run()).empty());

    // A bad name, or a tree for a UEFI board, is refused.
    std::string wrong = text;
    wrong.replace(wrong.find("bcm2712-d-rpi-5-b.dtb"), 21, "../x.dtb");
    auto refused = config::parse_cluster(wrong, f.cluster_file, {});
    REQUIRE_FALSE(refused);
    CHECK(refused.error()[0].message ==
          "nodes[0].device_tree: '../x.dtb' is not a device tree file name (like "
          "bcm2712-rpi-5-b.dtb)");
}

namespace {

// A build from the stage cache (no dpkg, no root): the cached root holds a kernel with the
// Pi 5 tree only, as Debian's do.
struct BuildFixture : PlanFixture {
    image::BuildOptions options;
    const std::string version = "7.3.4+bpo-arm64";

    BuildFixture() {
        options.out_dir = dir.path() / "out";
        options.store_root = dir.path() / "store";
        options.stage_cache = dir.path() / "stages";
        // The one locked package, in the store.
        const std::string deb = "a package";
        const std::string sha = util::sha256_hex(deb);
        const fs::path object = fetch::Store(options.store_root).path_for(sha);
        write(object, deb);
        apt::LockFile lock;
        lock.request_sha256 = apt::request_digest(cluster.image);
        lock.architecture = "arm64";
        lock.sources = {{"debian", "trixie", "2025-03-01T12:00:00Z", std::string(64, 'a')}};
        lock.packages = {{"base-files", "13.8", "arm64", "base-files", "debian",
                          "pool/main/b/base-files/base-files_13.8_arm64.deb", deb.size(), sha}};
        REQUIRE(util::write_file_atomic(cluster_file.string() + ".lock", apt::format_lock(lock)));
        // The configured root the stage cache hands back.
        const fs::path root = dir.path() / "stage-root";
        write(root / "etc/hostname", "debian\n");
        write(root / "boot" / ("vmlinuz-" + version), "kernel");
        write(root / "boot" / ("initrd.img-" + version), debian_initramfs(k_rp1_modules));
        write(root / "boot" / ("config-" + version), "CONFIG_ARM64_4K_PAGES=y\n");
        const fs::path modules = root / "usr/lib/modules" / version;
        write(modules / "modules.alias", k_modules_alias);
        write(modules / "modules.builtin", "kernel/drivers/pci/controller/pcie-brcmstb.ko\n");
        const fs::path dtbs = root / "usr/lib" / ("linux-image-" + version) / "broadcom";
        fs::create_directories(dtbs);
        fs::copy_file(k_dtbs / "bcm2712-good.dtb", dtbs / "bcm2712-rpi-5-b.dtb");
        auto inputs = image::collect_image_id_inputs(cluster);
        REQUIRE(inputs);
        fs::create_directories(options.stage_cache);
        REQUIRE(image::write_tree_tar(
            root, options.stage_cache / (image::stage_key(*inputs, cluster) + ".tar"),
            image::TarOptions{1740830400}));
    }
};

class NoChroot final : public rootfs::ChrootRunner {
public:
    util::Result<rootfs::ChrootResult> run(const rootfs::ChrootCommand&) override {
        return rootfs::ChrootResult{1, "must not run"};
    }
};

class NoCommands final : public util::CommandRunner {
public:
    util::Result<util::CommandOutput> run(const util::Command&) override {
        return util::CommandOutput{1, "", "must not run"};
    }
};

} // namespace

TEST_CASE("boot-chain: build refuses an image a node could not boot, and leaves no image") {
    BuildFixture f;
    NoChroot chroot;
    NoCommands commands;
    auto built = test::start_and_build(f.cluster, f.options, chroot, commands);
    REQUIRE_FALSE(built);
    const auto id = *image::collect_image_id_inputs(f.cluster)->image_id();
    const fs::path report = f.options.out_dir / (id + ".boot-chain.json");
    CHECK(built.error().message ==
          "a node could not boot from this image (kernel 7.3.4+bpo-arm64; the findings are in " +
              report.string() +
              "):\n"
              "  node n1: boot/bcm2712-rpi-cm5l-cm5io.dtb: missing: config.txt names it but boot/ "
              "has no such file\n"
              "  node n2: boot/bcm2712-rpi-cm5l-cm5io.dtb: missing: config.txt names it but boot/ "
              "has no such file");
    CHECK_FALSE(fs::exists(f.options.out_dir / id));
    CHECK(fs::is_regular_file(report));
    const auto names = util::list_dir_sorted(f.options.out_dir);
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{id + ".boot-chain.json"}); // no temp dir left
    auto plan = image::make_build_plan(f.cluster, f.options.out_dir);
    REQUIRE(plan);
    CHECK(plan->nodes[0].boot_chain_state == "failed");

    // Both nodes boot the Pi 5 tree the kernel has: the image is built, with its report.
    std::string text = *util::read_file(f.cluster_file);
    for (std::size_t at = 0; (at = text.find("    role: ", at)) != std::string::npos;) {
        at = text.find('\n', at) + 1;
        text.insert(at, "    device_tree: bcm2712-rpi-5-b.dtb\n");
    }
    auto chosen = config::parse_cluster(text, f.cluster_file, {});
    REQUIRE(chosen);
    built = test::start_and_build(*chosen, f.options, chroot, commands);
    INFO((built ? std::string() : built.error().message));
    REQUIRE(built);
    CHECK(built->stage_cache_hit);
    CHECK(std::all_of(built->boot_chain.begin(), built->boot_chain.end(),
                      [](const Finding& x) { return x.ok; }));
    CHECK(fs::is_regular_file(built->image_dir / "boot-chain.json"));
    // The CM5's kernel is in boot/ gzip-compressed (no name, no time), the root's inside.
    const std::string gz = *util::read_file(built->image_dir / "boot/kernel_2712.img");
    REQUIRE(gz.size() > 10);
    CHECK(gz.substr(0, 3) == "\x1f\x8b\x08");
    CHECK(gz.substr(3, 5) == std::string(5, '\0')); // no FNAME, MTIME 0
    util::ArchiveReader gunzip(archive_read_new());
    archive_read_support_filter_gzip(gunzip.get());
    archive_read_support_format_raw(gunzip.get());
    REQUIRE(archive_read_open_memory(gunzip.get(), gz.data(), gz.size()) == ARCHIVE_OK);
    archive_entry* raw = nullptr;
    REQUIRE(archive_read_next_header(gunzip.get(), &raw) == ARCHIVE_OK);
    char inflated[64] = {};
    CHECK(std::string(inflated, static_cast<std::size_t>(archive_read_data(
                                    gunzip.get(), inflated, sizeof inflated))) == "kernel");
    CHECK(util::read_file(built->image_dir / "nodes/a1b2c3d4/config.txt")
              ->find("device_tree=bcm2712-rpi-5-b.dtb\n") != std::string::npos);
    plan = image::make_build_plan(*chosen, f.options.out_dir);
    REQUIRE(plan);
    CHECK(plan->nodes[1].boot_chain_state == "passed");
}

TEST_CASE("boot-chain: the nfsroot initramfs hook adds the board table's network drivers") {
    // MODULES=list: the hook adds the root's filesystems and QEMU's transports, then every module
    // of the list the build renders from the board table (RP1's whole chain on BCM2712:
    // netboot's own net set would miss drivers/misc and drivers/irqchip), one
    // manual_add_modules per line. initramfs-tools' base set only for a board uhs does not know.
    const fs::path initramfs_tools = test::source_dir() / "overlays/nfsroot/etc/initramfs-tools";
    const auto conf = util::read_file(initramfs_tools / "conf.d/uhs-nfsroot.conf");
    const auto hook = util::read_file(initramfs_tools / "hooks/uhs-nfsroot");
    REQUIRE(conf);
    REQUIRE(hook);
    CHECK(conf->find("\nMODULES=list\n") != std::string::npos);
    CHECK(hook->find("\nmanual_add_modules nfs nfsv3 overlay ext4 af_packet virtio_pci "
                     "virtio_mmio\n") != std::string::npos);
    CHECK(hook->find("\nauto_add_modules base\n") == std::string::npos);
    CHECK(hook->find("\nPREREQ=\"udev\"\n") != std::string::npos);
    CHECK(hook->find("\nrm -f \"${DESTDIR}/usr/lib/udev/hwdb.bin\"") != std::string::npos);
    CHECK(hook->find("nic_modules=${CONFDIR:-/etc/initramfs-tools}/" +
                     fs::path(image::k_nic_modules_path).filename().string() + "\n") !=
          std::string::npos);
    CHECK(hook->find("*) manual_add_modules \"$module\" ;;") != std::string::npos);
    CHECK(hook->find("net | base) auto_add_modules \"$module\" ;;") != std::string::npos);
    PlanFixture f; // two CM5 Lites
    const std::string list = image::render_initramfs_files(f.cluster).at(0).text;
    for (std::string_view module : config::board_for(config::BoardModel::cm5_lite).nic_modules) {
        INFO(module);
        CHECK(list.find("\n" + std::string(module) + "\n") != std::string::npos);
    }
    CHECK(list.find("\nbase\n") == std::string::npos);
    CHECK(list.find("\nnet\n") == std::string::npos);
}
