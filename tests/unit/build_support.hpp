// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "builder/image/build.hpp"

namespace uhs::test {

// start_build, then build_image: what `uhs-image build` runs once the store holds every
// locked package.
inline util::Result<image::BuildResult> start_and_build(const config::Cluster& cluster,
                                                        const image::BuildOptions& options,
                                                        rootfs::ChrootRunner& chroot,
                                                        util::CommandRunner& commands) {
    const image::BuildStart start = UHS_TRY(image::start_build(cluster, options));
    return image::build_image(cluster, start, options, chroot, commands);
}

} // namespace uhs::test
