package znp

// NV item ids of Z-Stack (ZComDef.h) that a coordinator's host sets.
const (
	NvStartupOption       uint16 = 0x0003 // bit 0 clear config, bit 1 clear network state
	NvExtendedPANID       uint16 = 0x002D // 8 bytes
	NvAPSUseExtPANID      uint16 = 0x0047 // 8 bytes
	NvBdbNodeIsOnANetwork uint16 = 0x004E // 1 byte: the device has joined or formed a network
	NvPreCfgKey           uint16 = 0x0062 // 16 bytes: the network key
	NvPreCfgKeysEnable    uint16 = 0x0063 // 1 byte: distribute NvPreCfgKey
	NvSecurityMode        uint16 = 0x0064
	NvUseDefaultTCLK      uint16 = 0x006D
	NvPANID               uint16 = 0x0083 // 2 bytes
	NvChanList            uint16 = 0x0084 // 4 bytes: channel mask
	NvLogicalType         uint16 = 0x0087 // 1 byte: 0 coordinator, 1 router, 2 end device
	NvZdoDirectCB         uint16 = 0x008F // 1 byte: send ZDO responses to the host as AREQs
	NvTCLKTableStart      uint16 = 0x0101
)

// Bits of NvStartupOption.
const (
	StartupClearConfig uint8 = 0x01
	StartupClearState  uint8 = 0x02
)

// Logical types of NvLogicalType.
const (
	LogicalCoordinator uint8 = 0
	LogicalRouter      uint8 = 1
	LogicalEndDevice   uint8 = 2
)
