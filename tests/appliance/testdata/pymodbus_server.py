#!/usr/bin/python3
"""A Modbus RTU server for smgw's tests: Debian's python3-pymodbus (3.0.x)
decodes the requests, executes them against its datastore and encodes the
responses (RTU framer, CRC and all); this script only moves the bytes
between that machinery and a serial device (one end of a socat pty pair).

pymodbus's own serial transport needs pyserial-asyncio, which Debian ships
in a separate package; its RTU framer, request decoder and datastore are
what matter as an independent peer, and they are used unchanged.

usage: pymodbus_server.py DEVICE IMAGE.json

IMAGE: {"units": {"1": {"input": {"0": 17254, ...}, "holding": {...}}}}
(addresses and values in decimal). Registers not in the image answer
exception 2 (illegal data address); units not in the image stay silent.
"""
import json
import os
import select
import sys
import termios
import tty

from pymodbus.datastore import (
    ModbusServerContext,
    ModbusSlaveContext,
    ModbusSparseDataBlock,
)
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.factory import ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ModbusExceptions


def block(regs):
    if not regs:
        return ModbusSparseDataBlock({0xFFFF: 0})  # sparse blocks need one entry
    return ModbusSparseDataBlock({int(a): int(v) for a, v in regs.items()})


def main():
    device, image_path = sys.argv[1], sys.argv[2]
    with open(image_path, encoding="utf-8") as f:
        image = json.load(f)
    slaves = {}
    for unit, tables in image["units"].items():
        slaves[int(unit)] = ModbusSlaveContext(
            ir=block(tables.get("input")),
            hr=block(tables.get("holding")),
            zero_mode=True,
        )
    context = ModbusServerContext(slaves=slaves, single=False)
    units = list(slaves.keys())

    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    framer = ModbusRtuFramer(ServerDecoder())

    def execute(request):
        try:
            response = request.execute(context[request.unit_id])
        except NoSuchSlaveException:
            return
        except Exception:  # pylint: disable=broad-except
            response = request.doException(ModbusExceptions.SlaveFailure)
        response.transaction_id = request.transaction_id
        response.unit_id = request.unit_id
        os.write(fd, framer.buildPacket(response))

    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([fd, sys.stdin], [], [])
        if sys.stdin in readable and not sys.stdin.read(1):
            return  # the test closed our stdin: stop
        if fd not in readable:
            continue
        try:
            data = os.read(fd, 512)
        except OSError:
            return  # the other end of the pty pair is gone
        if not data:
            return
        try:
            framer.processIncomingPacket(data, execute, units, single=False)
        except Exception:  # pylint: disable=broad-except
            framer.resetFrame()


if __name__ == "__main__":
    main()
