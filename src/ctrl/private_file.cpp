#include "ctrl/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace braid::ctrl {

namespace {

// Closes a descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now so that the caller sees the error (NFS reports write errors at close).
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> writeAll(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(ErrorCode::kIo, strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

}  // namespace

Result<std::string> readPrivateFile(const std::string& path, std::string_view what,
                                    size_t maxBytes) {
  // O_NONBLOCK: a FIFO in place of the file must give an error, not hang the start-up.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    int err = errno;
    return fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                fmt::format("cannot open {} {}: {}", what, path, strerror(err)));
  }
  // fstat on the open descriptor: the file checked is the file read.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail(ErrorCode::kIo, fmt::format("cannot stat {} {}: {}", what, path, strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} {} is not a regular file", what, path));
  }
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} {} has mode {:04o}: group or others can access it; "
                            "run `chmod 600 {}`",
                            what, path, st.st_mode & 07777, path));
  }
  if (static_cast<uint64_t>(st.st_size) > maxBytes) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{} {} is too large ({} bytes, at most {})", what, path,
                            static_cast<uint64_t>(st.st_size), maxBytes));
  }
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::read(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return fail(ErrorCode::kIo,
                  fmt::format("cannot read {} {}: {}", what, path, strerror(errno)));
    }
    if (n == 0) break;  // Shrunk since fstat.
    done += static_cast<size_t>(n);
  }
  content.resize(done);
  return content;
}

Result<void> writePrivateFile(const std::string& path, std::string_view what,
                              std::span<const uint8_t> data, bool overwrite) {
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, fmt::format("empty {} path", what));
  std::string temp = path + ".tmp-XXXXXX";
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return fail(ErrorCode::kIo,
                fmt::format("cannot create {} {}: {}", what, path, strerror(errno)));
  }
  auto failAndRemove = [&](std::string message) {
    ::unlink(temp.c_str());
    return fail(ErrorCode::kIo, std::move(message));
  };
  // mkostemp creates 0600 minus the umask; make it exactly 0600 before any byte is written.
  if (::fchmod(fd.get(), 0600) != 0) {
    return failAndRemove(fmt::format("cannot chmod {} {}: {}", what, temp, strerror(errno)));
  }
  if (Result<void> written = writeAll(fd.get(), data); !written) {
    return failAndRemove(
        fmt::format("cannot write {} {}: {}", what, temp, written.error().context));
  }
  if (::fsync(fd.get()) != 0 || fd.close() != 0) {
    return failAndRemove(fmt::format("cannot write {} {}: {}", what, temp, strerror(errno)));
  }
  if (overwrite) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      return failAndRemove(fmt::format("cannot create {} {}: {}", what, path, strerror(errno)));
    }
  } else {
    // link() fails with EEXIST instead of replacing: O_EXCL semantics for a complete file.
    if (::link(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(temp.c_str());
      if (err == EEXIST) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("{} {} already exists; refusing to overwrite it", what, path));
      }
      return fail(ErrorCode::kIo,
                  fmt::format("cannot create {} {}: {}", what, path, strerror(err)));
    }
    ::unlink(temp.c_str());
  }
  // Make the new name durable too: the gateway secret must survive a power cut.
  Fd dir(::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return ok();
}

}  // namespace braid::ctrl
