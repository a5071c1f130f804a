#include "dataplane/io/xdp_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "braid_xdp.skel.h"
#include "spdlog/spdlog.h"

namespace braid::dp {
namespace {

constexpr const char* kStatNames[BRAID_XDP_STAT_COUNT] = {
    "redirected",      "no_socket",      "too_short",        "bad_version",
    "unknown_type",    "bad_link_id",    "sealed_too_short", "bad_init",
    "wrong_direction", "bad_udp_length", "fragment",
};

// libbpf and libxdp print through callbacks; route them into the project's logger. Their
// warnings are often expected (a missing bpffs makes libxdp fall back), so they log at info.
int logLibrary(int level, const char* format, va_list args) {
  char line[512];
  int n = std::vsnprintf(line, sizeof(line), format, args);
  if (n <= 0) return 0;
  size_t len = std::min(static_cast<size_t>(n), sizeof(line) - 1);
  while (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
  if (level == 0) {
    spdlog::info("{}", line);
  } else if (level == 1) {
    spdlog::debug("{}", line);
  } else {
    spdlog::trace("{}", line);
  }
  return n;
}

int logLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  return logLibrary(static_cast<int>(level), format, args);
}
int logLibxdp(enum libxdp_print_level level, const char* format, va_list args) {
  return logLibrary(static_cast<int>(level), format, args);
}

void routeLibraryLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    libbpf_set_print(logLibbpf);
    libxdp_set_print(logLibxdp);
  });
}

std::string errnoText(int err) {
  char buf[128];
  libxdp_strerror(err, buf, sizeof(buf));
  return buf;
}

xdp_attach_mode toLibxdp(XdpAttachMode mode) {
  return mode == XdpAttachMode::kSkb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

}  // namespace

uint64_t XdpProgramStats::dropped() const {
  uint64_t total = 0;
  for (int i = BRAID_XDP_DROP_TOO_SHORT; i < BRAID_XDP_STAT_COUNT; ++i) {
    total += counters[i].packets;
  }
  return total;
}

const char* xdpStatName(braid_xdp_stat stat) {
  return stat < BRAID_XDP_STAT_COUNT ? kStatNames[stat] : "unknown";
}

XdpProgram::~XdpProgram() {
  if (attached_) {
    int err = xdp_program__detach(program_, ifindex_, toLibxdp(options_.mode), 0);
    if (err != 0) {
      spdlog::warn("XDP detach from {}: {}", options_.interface, errnoText(err));
    }
  }
  // libxdp's handle borrows the skeleton's bpf_object: close the handle first.
  if (program_ != nullptr) xdp_program__close(program_);
  if (skeleton_ != nullptr) braid_xdp_bpf__destroy(skeleton_);
}

Result<std::unique_ptr<XdpProgram>> XdpProgram::attach(const XdpProgramOptions& options) {
  routeLibraryLogs();
  if (options.udpPort == 0) return fail(ErrorCode::kInvalidArgument, "XDP: no UDP port");
  auto self = std::unique_ptr<XdpProgram>(new XdpProgram(options));
  self->ifindex_ = static_cast<int>(if_nametoindex(options.interface.c_str()));
  if (self->ifindex_ == 0) {
    return fail(ErrorCode::kNotFound,
                "XDP: interface '" + options.interface + "': " + std::strerror(errno));
  }
  self->skeleton_ = braid_xdp_bpf__open();
  if (self->skeleton_ == nullptr) {
    return fail(ErrorCode::kIo, "XDP: opening the BPF object: " + errnoText(-errno));
  }
  self->skeleton_->rodata->gateway_port = options.udpPort;
  // libxdp loads the object itself: as an extension of its dispatcher when it can, so the
  // skeleton must hand it over still unloaded.
  self->program_ = xdp_program__from_bpf_obj(self->skeleton_->obj, "xdp");
  if (long err = libxdp_get_error(self->program_); err != 0) {
    self->program_ = nullptr;
    return fail(ErrorCode::kIo, "XDP: libxdp program: " + errnoText(static_cast<int>(err)));
  }
  int err = xdp_program__attach(self->program_, self->ifindex_, toLibxdp(options.mode), 0);
  if (err != 0) {
    return fail(ErrorCode::kIo, fmt::format("XDP: attaching to {} ({} mode): {}", options.interface,
                                            self->modeName(), errnoText(err)));
  }
  self->attached_ = true;
  if (xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(self->ifindex_);
      libxdp_get_error(mp) == 0 && mp != nullptr) {
    self->dispatcher_ = !xdp_multiprog__is_legacy(mp);
    xdp_multiprog__close(mp);
  }
  return self;
}

Result<std::unique_ptr<XdpProgram>> XdpProgram::loadDetached(uint16_t udpPort) {
  routeLibraryLogs();
  auto self = std::unique_ptr<XdpProgram>(
      new XdpProgram(XdpProgramOptions{.interface = {}, .udpPort = udpPort}));
  self->skeleton_ = braid_xdp_bpf__open();
  if (self->skeleton_ == nullptr) {
    return fail(ErrorCode::kIo, "XDP: opening the BPF object: " + errnoText(-errno));
  }
  self->skeleton_->rodata->gateway_port = udpPort;
  if (int err = braid_xdp_bpf__load(self->skeleton_); err != 0) {
    return fail(ErrorCode::kIo, "XDP: loading the BPF program: " + errnoText(err));
  }
  return self;
}

int XdpProgram::programFd() const {
  return program_ != nullptr ? xdp_program__fd(program_)
                             : bpf_program__fd(skeleton_->progs.braid_xdp);
}

int XdpProgram::xskMapFd() const {
  return bpf_map__fd(skeleton_->maps.xsks);
}

const char* XdpProgram::modeName() const {
  return options_.mode == XdpAttachMode::kSkb ? "skb" : "native";
}

Result<XdpProgramStats> XdpProgram::readStats() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return fail(ErrorCode::kIo, "XDP stats: cannot count CPUs");
  // Control thread, a few times a second: a vector per read is fine here.
  std::vector<braid_xdp_counter> perCpu(static_cast<size_t>(cpus));
  int fd = bpf_map__fd(skeleton_->maps.stats);
  XdpProgramStats stats;
  for (uint32_t key = 0; key < BRAID_XDP_STAT_COUNT; ++key) {
    if (bpf_map_lookup_elem(fd, &key, perCpu.data()) != 0) {
      return fail(ErrorCode::kIo, std::string("XDP stats: ") + std::strerror(errno));
    }
    for (const braid_xdp_counter& c : perCpu) {
      stats.counters[key].packets += c.packets;
      stats.counters[key].bytes += c.bytes;
    }
  }
  return stats;
}

}  // namespace braid::dp
