// Unpredictable bytes for query IDs: getrandom(2), or /dev/urandom where
// the kernel lacks it. There is no weak fallback: without either source
// the caller fails (a guessable ID would let anyone spoof answers).
#pragma once
#include <cstddef>

namespace qbox::dns {

// Fills buf with n random bytes; false (errno set) when no source works.
bool random_bytes(void* buf, std::size_t n);

}  // namespace qbox::dns
