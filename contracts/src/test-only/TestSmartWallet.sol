// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title TestSmartWallet
/// @notice TEST ONLY. A minimal ERC-1271 smart wallet: a signature is valid when its one owner
///         (an EOA) signed the hash. Used by the gateway's tests of Sign-In with Ethereum from
///         smart wallets; never deployed outside a devnet.
contract TestSmartWallet is IERC1271 {
    /// @notice The EOA whose signatures this wallet accepts.
    address public immutable owner;

    /// @notice The owner is the zero address.
    error ZeroOwner();

    /// @param owner_ The EOA whose signatures this wallet accepts.
    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroOwner();
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

/// @title TestSmartWalletFactory
/// @notice TEST ONLY. Deploys TestSmartWallet with CREATE2, so a wallet's address is known before it
///         exists (the counterfactual wallets of ERC-6492).
contract TestSmartWalletFactory {
    /// @notice A wallet was deployed.
    event WalletDeployed(address indexed wallet, address indexed owner, bytes32 salt);

    /// @notice Deploy the wallet of `owner` and `salt` (or return it if it exists).
    function deploy(address owner, bytes32 salt) external returns (address wallet) {
        wallet = addressOf(owner, salt);
        if (wallet.code.length > 0) return wallet;
        wallet = address(new TestSmartWallet{salt: salt}(owner));
        emit WalletDeployed(wallet, owner, salt);
    }

    /// @notice The address the wallet of `owner` and `salt` has, deployed or not.
    function addressOf(address owner, bytes32 salt) public view returns (address) {
        bytes32 codeHash = keccak256(abi.encodePacked(type(TestSmartWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, codeHash)))));
    }
}
