/* batch_alter_table and move-and-copy: see engine/dialect/sqlite_recreate.h. */
#ifndef LM_RECREATE_FWD_H
#define LM_RECREATE_FWD_H

#include "dialect/sqlite_recreate.h"

#endif
