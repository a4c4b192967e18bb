package serial

// LockedByOther tries to take the device's flock on a descriptor of its
// own, as another process would: nil if it could (and releases it).
func LockedByOther(path string) error {
	f, err := lockDevice(path)
	if err != nil {
		return err
	}
	return f.Close()
}
