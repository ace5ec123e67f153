// Commands to a running supervise, the way svc sends them: the command
// letters (u d o p c h a i t k x) are written to DIR/supervise/control, a
// fifo that supervise reads. The open does not block, so a directory whose
// supervise is not running fails at once instead of hanging.
#pragma once
#include <string_view>

namespace qbox {

// Writes `cmds` to DIR/supervise/control in one write. 0 on success, -1 and
// errno otherwise: ENXIO when no supervise has the fifo open (svc's
// "supervise not running"), ENOENT when DIR or the fifo does not exist,
// EAGAIN when the fifo is full.
int supervise_control_write(std::string_view dir, std::string_view cmds);

}  // namespace qbox
